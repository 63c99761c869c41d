/**
 * The media types the gateway serves documents as. The court's own Content-Type is never passed on: a
 * document is served as the type its catalogue entry names, and only if that type is one of these (court
 * files are scans and signed documents), so that no court answer can make a browser run HTML or script.
 * SVG is an image that carries script, so it is not here.
 */
const SERVED = new Set([
  'application/pdf',
  // OFD (GB/T 33190), the Chinese fixed-layout format of electronic documents.
  'application/ofd',
  'image/jpeg',
  'image/png',
  'image/tiff',
  'image/gif',
  'image/bmp',
  'image/webp',
])

/** The type to serve a document as (its essence, lower case, no parameters), or undefined when refused. */
export function servedMediaType(catalogued: string): string | undefined {
  const essence = catalogued.split(';', 1)[0]!.trim().toLowerCase()
  return SERVED.has(essence) ? essence : undefined
}
