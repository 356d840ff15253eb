// How long an awaited call took, measured by the test: outcomes carry no duration (the
// dispatcher times deliveries itself), so timeout tests time the run from outside.

export async function timed<T>(call: () => Promise<T>): Promise<{ readonly result: T; readonly ms: number }> {
  const startedAt = performance.now();
  const result = await call();
  return { result, ms: performance.now() - startedAt };
}
