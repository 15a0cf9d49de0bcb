// The documents page: upload (members and admins) and the searchable, paged library.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api, Doc, DocPage, Me } from '../lib/api';
import { inlineType, openOriginal } from '../lib/files';
import { formatBytes, formatCount, formatDate } from '../lib/format';
import { AccessCell } from './AccessCell';
import { AclEditor } from './AclEditor';
import { ConfirmDialog, ErrorBanner, type ConfirmRequest } from './common';
import { StatusBadge, Uploader } from './Uploader';
import { useDirectory } from './useDirectory';
import { useLatest } from './useLatest';

const PAGE_SIZE = 20;

export function DocumentsPage({ api, me, active }: { api: Api; me: Me; active: boolean }) {
  const canUpload = me.role === 'admin' || me.role === 'member';
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [collection, setCollection] = useState('');
  const [collections, setCollections] = useState<string[]>([]);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DocPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [editing, setEditing] = useState<Doc | null>(null);
  const directory = useDirectory(api, me, active);
  const self = me.user_id ?? me.key_id;
  // Owners and admins may change a document's access or delete it.
  const canChange = (doc: Doc) => canUpload && (me.role === 'admin' || doc.owner === self);
  const begin = useLatest();

  // Typing in the search box waits for a pause before asking the server.
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(query.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [query]);

  const load = useCallback(async () => {
    const latest = begin();
    try {
      const result = await api.listDocuments({ q: search, status, collection, limit: PAGE_SIZE, offset });
      if (!latest()) return;
      // Deleting the last document of a page moves back a page.
      if (result.documents.length === 0 && result.total > 0 && offset > 0) {
        setOffset(Math.max(0, offset - PAGE_SIZE));
        return;
      }
      setPage(result);
      setError(null);
    } catch (err) {
      if (latest()) setError(err);
    }
  }, [api, begin, search, status, collection, offset]);

  useEffect(() => {
    if (active) void load();
  }, [load, active]);

  // Collections come from the model list (`enclave:<collection>`); the filter shows when there are several.
  useEffect(() => {
    if (!active) return;
    api.models().then(
      ({ data }) => setCollections(data.filter((m) => m.id.startsWith('enclave:')).map((m) => m.id.slice(8))),
      () => setCollections([]),
    );
  }, [api, active]);

  // While anything on screen is still being ingested, keep the list fresh.
  const pending = page?.documents.some((d) => d.status === 'queued' || d.status === 'processing') ?? false;
  useEffect(() => {
    if (!pending || !active) return;
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [pending, load, active]);

  const remove = (doc: Doc) =>
    setConfirm({
      title: 'Delete document?',
      message: `“${doc.filename}” will be removed from the library and from search. This cannot be undone.`,
      confirmLabel: 'Delete',
      onConfirm: async () => {
        try {
          await api.deleteDocument(doc.id);
          setAnnouncement(`Deleted ${doc.filename}.`);
          await load();
        } catch (err) {
          setError(err);
        }
      },
    });

  const open = async (doc: Doc) => {
    try {
      await openOriginal(() => api.documentFile(doc.id), doc.filename, null);
    } catch (err) {
      setError(err);
    }
  };

  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + PAGE_SIZE, total);

  return (
    <div class="page documents-page">
      <h1>Documents</h1>
      {canUpload ? (
        <Uploader api={api} onSettled={() => void load()} />
      ) : (
        <p class="muted reader-note">Your key can read and ask questions; uploading needs a member or admin key.</p>
      )}

      <section class="library" aria-labelledby="library-title">
        <div class="library-head">
          <h2 id="library-title">Library</h2>
          <div class="filters">
            <label>
              <span class="visually-hidden">Search by file name</span>
              <input
                type="search"
                placeholder="Search by file name"
                value={query}
                onInput={(e) => setQuery(e.currentTarget.value)}
                aria-label="Search by file name"
              />
            </label>
            {collections.length > 1 && (
              <label>
                <span class="visually-hidden">Collection</span>
                <select
                  value={collection}
                  onChange={(e) => {
                    setCollection(e.currentTarget.value);
                    setOffset(0);
                  }}
                  aria-label="Filter by collection"
                >
                  <option value="">All collections</option>
                  {collections.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              <span class="visually-hidden">Status</span>
              <select
                value={status}
                onChange={(e) => {
                  setStatus(e.currentTarget.value);
                  setOffset(0);
                }}
                aria-label="Filter by status"
              >
                <option value="">Any status</option>
                <option value="queued">Queued</option>
                <option value="processing">Processing</option>
                <option value="ready">Ready</option>
                <option value="failed">Failed</option>
              </select>
            </label>
          </div>
        </div>
        <p class="visually-hidden" role="status" aria-live="polite">
          {announcement}
        </p>
        {error !== null && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
        {page === null ? (
          <p class="muted">Loading documents…</p>
        ) : page.documents.length === 0 ? (
          <p class="muted empty-library">
            {search || status || collection ? 'No documents match this search.' : 'No documents yet.'}
            {!search && !status && !collection && canUpload && ' Upload some above to start asking questions.'}
          </p>
        ) : (
          <div class="table-wrap">
            <table class="doc-table" data-testid="doc-table">
              <caption class="visually-hidden">
                Documents {first} to {last} of {total}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Access</th>
                  <th scope="col" class="num">Size</th>
                  <th scope="col" class="num">Pages</th>
                  <th scope="col" class="num">Chunks</th>
                  <th scope="col">Added</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.documents.map((doc) => (
                  <tr key={doc.id} data-doc-id={doc.id} data-filename={doc.filename} data-status={doc.status}>
                    <th scope="row" data-label="Name" class="doc-name">
                      <span class="filename">{doc.filename}</span>
                      {doc.collection && <span class="collection-tag">{doc.collection}</span>}
                    </th>
                    <td data-label="Status" class="doc-status">
                      <StatusBadge status={doc.status} progress={doc.progress} />
                      {doc.status === 'failed' && doc.error && (
                        <span class="doc-error" data-testid="doc-error">
                          {doc.error}
                        </span>
                      )}
                    </td>
                    <AccessCell
                      doc={doc}
                      self={self}
                      names={directory.names}
                      onEdit={canChange(doc) ? () => setEditing(doc) : null}
                    />
                    <td data-label="Size" class="num">
                      {formatBytes(doc.size)}
                    </td>
                    <td data-label="Pages" class="num">
                      {formatCount(doc.pages)}
                    </td>
                    <td data-label="Chunks" class="num">
                      {formatCount(doc.chunks)}
                    </td>
                    <td data-label="Added" class="nowrap">
                      {formatDate(doc.created_at)}
                    </td>
                    <td class="row-actions">
                      <button
                        type="button"
                        class="button small ghost"
                        onClick={() => void open(doc)}
                        aria-label={`${inlineType(doc.filename) ? 'Open' : 'Download'} ${doc.filename}`}
                      >
                        {inlineType(doc.filename) ? 'Open' : 'Download'}
                      </button>
                      {canChange(doc) && (
                        <button
                          type="button"
                          class="button small ghost danger-text"
                          onClick={() => remove(doc)}
                          aria-label={`Delete ${doc.filename}`}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {total > 0 && (
          <nav class="pager" aria-label="Pages of documents">
            <span>
              {first}–{last} of {total}
            </span>
            <button
              type="button"
              class="button small"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
            >
              Previous
            </button>
            <button
              type="button"
              class="button small"
              disabled={offset + PAGE_SIZE >= total}
              onClick={() => setOffset(offset + PAGE_SIZE)}
            >
              Next
            </button>
          </nav>
        )}
      </section>
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
      {editing && (
        <AclEditor
          api={api}
          doc={editing}
          directory={me.role === 'admin' ? directory : null}
          onClose={() => setEditing(null)}
          onSaved={(doc) => {
            setEditing(null);
            setAnnouncement(`Access to ${doc.filename} changed.`);
            void load();
          }}
        />
      )}
    </div>
  );
}
