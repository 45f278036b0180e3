// docs/configuration.md is generated from the schema; this keeps the committed file in step with it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allPaths, envNameOf } from '../../src/server/config.js';
import { renderConfigurationDoc } from '../../src/server/config-docs.js';

describe('docs/configuration.md', () => {
  it('matches the schema (regenerate: npx tsx src/server/config-docs.ts > docs/configuration.md)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigurationDoc());
  });

  it('documents every setting and its environment name', () => {
    const doc = renderConfigurationDoc();
    for (const path of allPaths()) {
      const [section, key] = path.split('.') as [string, string];
      expect(doc).toContain(`\`${path}\``);
      expect(doc).toContain(`\`${envNameOf(section, key)}\``);
    }
  });
});
