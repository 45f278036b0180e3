// The naive hub as a server process of its own, for the load benches: `tsx naive-hub-main.ts [port]`.
// Prints one line, {"listening":"ws://…","http":"http://…","pid":…}, and stops on SIGTERM or SIGINT.
import { startNaiveHub } from './naive-hub.js';

const hub = await startNaiveHub({ httpPublish: true, port: Number(process.argv[2] ?? 0) });
process.stdout.write(`${JSON.stringify({ listening: hub.url, http: hub.httpUrl, pid: process.pid })}\n`);
const stop = (): void => void hub.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
