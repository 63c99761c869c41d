/**
 * Runs `work` on every item with at most `width` at a time, in order of the list, and resolves when all are
 * done. `live` is asked before each next item, so that a view that went away stops asking the gateway.
 * Four at a time is what the console uses: enough to hide latency, few enough to leave the browser's six
 * connections per host free for the page itself.
 */
export async function eachAtMost<T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
  { width = 4, live = () => true }: { width?: number; live?: () => boolean } = {},
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && live()) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker))
}
