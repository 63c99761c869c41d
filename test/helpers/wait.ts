/**
 * Waits until `probe` returns a value other than `undefined`, trying again every `intervalMs`, and fails once
 * `deadlineMs` of wall time have passed, however many tries that was: on a busy machine each try is slower, so
 * a count of tries fails there while a deadline does not. Deadlines are generous on purpose; a passing test
 * never waits for one. An error thrown by `probe` fails the wait at once.
 */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  options: { deadlineMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const { deadlineMs = 120_000, intervalMs = 20, what = 'the awaited condition' } = options
  const deadline = performance.now() + deadlineMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() >= deadline) throw new Error(`${what} was not reached within ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
