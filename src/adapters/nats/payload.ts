// Message payloads as the core needs them: JSON text it can embed verbatim in an event frame. Events
// published through the gateway are JSON already; any NATS client may publish straight into the stream,
// though, and one malformed payload embedded verbatim would corrupt the frame for every subscriber. So a
// payload that is not one JSON value is delivered as a JSON string of its text (docs/operations.md).

const decoder = new TextDecoder('utf-8', { fatal: false });

export function payloadAsJson(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  if (text.length === 0) return '""';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}
