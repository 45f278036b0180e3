// How the memory budget is shared (docs/operations.md, "Capacity"). Retained history comes first — the
// gateway's rings (history.totalBytesMax) and, with the embedded broker, its log (broker.bytesMax), each
// bounded in bytes with per-record costs included — and connections get the rest:
//   capacity memory term = (budget − baseline − retained history) / perConnectionBytes.
// Unless configured, each history store gets a sixteenth of the budget, between 4 MiB and 256 MiB, so a
// 512 MiB container keeps ~26 MiB of each and an 8 GiB one 256 MiB; with no known limit, 64 MiB each.

const MiB = 1024 * 1024;

export const RETAINED_BYTES_UNLIMITED_BUDGET = 64 * MiB;
export const RETAINED_BYTES_MIN = 4 * MiB;
export const RETAINED_BYTES_MAX = 256 * MiB;
/** The share of the budget each history store gets by default. */
export const RETAINED_SHARE = 1 / 16;

/** The default byte bound of one history store (the rings, or the embedded broker's log). */
export function retainedBytesDefault(memoryBudgetBytes: number | null): number {
  if (memoryBudgetBytes === null) return RETAINED_BYTES_UNLIMITED_BUDGET;
  return Math.min(RETAINED_BYTES_MAX, Math.max(RETAINED_BYTES_MIN, Math.floor(memoryBudgetBytes * RETAINED_SHARE)));
}
