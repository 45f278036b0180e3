// Cheap invariant checks, kept on in production (TigerBeetle style): a broken invariant is our bug, and
// failing loudly beats delivering events out of order.
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
