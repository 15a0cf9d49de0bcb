// Uploading many files at once: each file is its own request so it gets its own progress bar,
// then its ingestion status is polled until it is ready or has failed with a reason.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api, type Doc, type DocStatus } from '../lib/api';
import { formatBytes } from '../lib/format';
import { errorMessage, isAbort } from './common';

type Phase = 'waiting' | 'uploading' | DocStatus;

interface UploadItem {
  key: number;
  file: File;
  phase: Phase;
  uploaded: number;
  progress: number;
  docId: string | null;
  error: string | null;
  duplicate: boolean;
}

const PARALLEL_UPLOADS = 3;
const POLL_MS = 1000;
let nextKey = 1;

export function Uploader({ api, onSettled }: { api: Api; onSettled: () => void }) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [collection, setCollection] = useState('');
  const [dragging, setDragging] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  // The poller outlives renders; it must call the latest callback, not the one it started with.
  const settledRef = useRef(onSettled);
  settledRef.current = onSettled;
  const aborts = useRef(new Set<AbortController>());

  useEffect(() => () => aborts.current.forEach((a) => a.abort()), []);

  const patch = (key: number, change: Partial<UploadItem>) =>
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));

  const applyDoc = (key: number, doc: Doc) => {
    patch(key, { docId: doc.id, phase: doc.status, progress: doc.progress ?? 0, error: doc.error });
    if (doc.status === 'ready') setAnnouncement(`${doc.filename} is ready.`);
    if (doc.status === 'failed') setAnnouncement(`${doc.filename} failed: ${doc.error ?? 'no reason given'}`);
  };

  const uploadOne = async (item: UploadItem, target: string) => {
    const abort = new AbortController();
    aborts.current.add(abort);
    patch(item.key, { phase: 'uploading' });
    try {
      const docs = await api.uploadFile(item.file, {
        collection: target || undefined,
        onProgress: (fraction) => patch(item.key, { uploaded: fraction }),
        signal: abort.signal,
      });
      if (docs[0]) {
        applyDoc(item.key, docs[0]);
        if (docs[0].duplicate) patch(item.key, { duplicate: true });
      }
      else patch(item.key, { phase: 'failed', error: 'The server accepted the upload but returned no document.' });
      settledRef.current();
    } catch (err) {
      if (isAbort(err)) return;
      patch(item.key, { phase: 'failed', error: errorMessage(err) });
      setAnnouncement(`${item.file.name} was not uploaded: ${errorMessage(err)}`);
    } finally {
      aborts.current.delete(abort);
    }
  };

  const addFiles = (files: FileList | File[] | null) => {
    const list = [...(files ?? [])];
    if (!list.length) return;
    const added: UploadItem[] = list.map((file) => ({
      key: nextKey++,
      file,
      phase: 'waiting',
      uploaded: 0,
      progress: 0,
      docId: null,
      error: null,
      duplicate: false,
    }));
    setItems((current) => [...added, ...current]);
    setAnnouncement(`Uploading ${added.length} file${added.length === 1 ? '' : 's'}.`);
    const target = collection.trim();
    // A small pool: a handful of uploads at a time, each with its own progress bar.
    const queue = [...added];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await uploadOne(item, target);
    };
    for (let i = 0; i < Math.min(PARALLEL_UPLOADS, added.length); i++) void worker();
  };

  // Poll each file that is still being ingested, about once a second.
  const polling = items.some((i) => i.docId && (i.phase === 'queued' || i.phase === 'processing'));
  useEffect(() => {
    if (!polling) return;
    let stopped = false;
    const tick = async () => {
      const active = itemsRef.current.filter((i) => i.docId && (i.phase === 'queued' || i.phase === 'processing'));
      let settled = false;
      await Promise.all(
        active.map(async (item) => {
          try {
            const doc = await api.getDocument(item.docId!);
            if (stopped) return;
            applyDoc(item.key, doc);
            if (doc.status === 'ready' || doc.status === 'failed') settled = true;
          } catch (err) {
            if (stopped) return;
            if (err instanceof ApiError && err.status === 404) {
              patch(item.key, { phase: 'failed', error: 'The document was deleted before it finished.' });
            }
          }
        }),
      );
      if (settled && !stopped) settledRef.current();
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    let timer = setTimeout(tick, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [polling, api]);

  const finished = items.filter((i) => i.phase === 'ready' || i.phase === 'failed');

  return (
    <section class="uploader" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload</h2>
      <div
        class={`dropzone${dragging ? ' dragging' : ''}`}
        data-testid="dropzone"
        onDragEnter={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
        }}
        onDragLeave={(e) => {
          if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          addFiles(e.dataTransfer?.files ?? null);
        }}
      >
        <p>
          <strong>Drop files here</strong> or{' '}
          <button type="button" class="button primary" onClick={() => input.current?.click()}>
            Choose files
          </button>
        </p>
        <p class="hint">PDF, Word, PowerPoint, Excel, HTML, e-mail, Markdown, text and more. Many at once is fine.</p>
        <input
          ref={input}
          type="file"
          multiple
          class="visually-hidden"
          tabIndex={-1}
          aria-label="Files to upload"
          data-testid="file-input"
          onChange={(e) => {
            addFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <label class="inline-field">
          <span>Collection (optional)</span>
          <input
            type="text"
            value={collection}
            placeholder="e.g. policies"
            pattern="[A-Za-z0-9_.-]*"
            onInput={(e) => setCollection(e.currentTarget.value)}
          />
        </label>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {items.length > 0 && (
        <>
          <ul class="upload-list" aria-label="Uploads">
            {items.map((item) => (
              <UploadRow key={item.key} item={item} />
            ))}
          </ul>
          {finished.length > 0 && (
            <button
              type="button"
              class="button small ghost"
              onClick={() => setItems((list) => list.filter((i) => i.phase !== 'ready' && i.phase !== 'failed'))}
            >
              Clear finished
            </button>
          )}
        </>
      )}
    </section>
  );
}

function UploadRow({ item }: { item: UploadItem }) {
  const label = `${item.file.name}`;
  const uploading = item.phase === 'waiting' || item.phase === 'uploading';
  const value = uploading ? item.uploaded : item.phase === 'ready' ? 1 : item.progress;
  return (
    <li class={`upload-item phase-${item.phase}`} data-filename={item.file.name} data-phase={item.phase}>
      <div class="upload-line">
        <span class="filename">{item.file.name}</span>
        <span class="muted">{formatBytes(item.file.size)}</span>
        {uploading ? (
          <span class="badge status-uploading">
            {item.phase === 'waiting' ? 'Waiting' : `Uploading ${Math.round(item.uploaded * 100)}%`}
          </span>
        ) : (
          <StatusBadge status={item.phase as DocStatus} progress={item.progress} />
        )}
      </div>
      {item.phase === 'queued' ? (
        // No value: an indeterminate bar while the file waits for a worker.
        <progress key="queued" aria-label={`Queued ${label}`} data-testid="upload-progress" />
      ) : (
        item.phase !== 'failed' && (
          <progress
            key="progress"
            max={1}
            value={value}
            aria-label={uploading ? `Uploading ${label}` : `Processing ${label}`}
            data-testid="upload-progress"
          />
        )
      )}
      {item.duplicate && <p class="hint">The same content is already in this collection, so it was not added twice.</p>}
      {item.error && (
        <p class="doc-error" role="alert">
          {item.error}
        </p>
      )}
    </li>
  );
}

const STATUS_LABEL: Record<DocStatus, string> = {
  queued: 'Queued',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
};

export function StatusBadge({ status, progress }: { status: DocStatus; progress?: number }) {
  const percent = status === 'processing' && progress ? ` ${Math.round(progress * 100)}%` : '';
  return (
    <span class={`badge status-${status}`} data-status={status}>
      {STATUS_LABEL[status] ?? status}
      {percent}
    </span>
  );
}
