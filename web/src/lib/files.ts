// Opening an original document safely: the bytes are fetched with the key and shown from a blob URL.
// A blob URL has this app's origin, so only types a browser cannot run as a page are shown inline;
// anything else (HTML, SVG, XML, Office files) is saved as a download instead.

const INLINE_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  txt: 'text/plain',
  md: 'text/plain',
  csv: 'text/plain',
  tsv: 'text/plain',
  json: 'text/plain',
  log: 'text/plain',
  rst: 'text/plain',
  org: 'text/plain',
};

export function inlineType(filename: string): string | null {
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  return INLINE_TYPES[ext] ?? null;
}

/**
 * Opens a tab synchronously (inside the click, so pop-up blockers allow it), then points it at
 * the file once it has downloaded. Returns false when the file was downloaded instead.
 */
export async function openOriginal(
  fetchBlob: () => Promise<Blob>,
  filename: string,
  page: number | null | undefined,
): Promise<boolean> {
  const type = inlineType(filename);
  const tab = type ? window.open('', '_blank') : null;
  try {
    const blob = await fetchBlob();
    const typed = new Blob([blob], { type: type ?? 'application/octet-stream' });
    const url = URL.createObjectURL(typed);
    setTimeout(() => URL.revokeObjectURL(url), 5 * 60_000);
    if (tab) {
      tab.opener = null;
      const fragment = type === 'application/pdf' && page ? `#page=${page}` : '';
      tab.location.href = url + fragment;
      return true;
    }
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.rel = 'noopener';
    document.body.appendChild(link);
    link.click();
    link.remove();
    return false;
  } catch (err) {
    tab?.close();
    throw err;
  }
}
