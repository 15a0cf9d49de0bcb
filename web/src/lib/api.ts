// The typed client for the Enclave HTTP API: every call carries the signed-in key, and every
// failure becomes an ApiError whose message is the server's sentence.

export type Role = 'admin' | 'member' | 'reader';

export interface Me {
  tenant_id: string;
  tenant_name: string;
  key_id: string;
  key_name: string;
  role: Role;
}

export type DocStatus = 'queued' | 'processing' | 'ready' | 'failed';

export interface Doc {
  id: string;
  filename: string;
  collection: string | null;
  media_type: string | null;
  size: number;
  sha256: string;
  status: DocStatus;
  progress: number;
  error: string | null;
  pages: number | null;
  chunks: number | null;
  external_id: string | null;
  title?: string | null;
  /** Set on upload when the same content was already in the collection. */
  duplicate?: boolean;
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

export interface DocPage {
  documents: Doc[];
  total: number;
  limit: number;
  offset: number;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  revoked_at: string | null;
}

export interface NewKey {
  id: string;
  name: string;
  role: Role;
  key: string;
}

export interface Model {
  id: string;
  object: string;
  owned_by: string;
}

export interface Citation {
  index: number;
  document_id: string;
  filename: string;
  page: number | null;
  snippet: string;
  score: number;
}

export interface ConversationSummary {
  id: string;
  title: string;
  created_at: string;
  updated_at: string;
}

export interface ChatMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
  citations?: Citation[] | null;
}

export interface Conversation {
  id: string;
  title: string;
  messages: ChatMessage[];
}

export class ApiError extends Error {
  readonly status: number;
  /** Seconds to wait, from a 429's Retry-After header. */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Called once whenever the server rejects the key (401), so the app can return to sign-in. */
type UnauthorizedHandler = () => void;

const FALLBACK_MESSAGES: Record<number, string> = {
  401: 'Your key was not accepted. It may have been revoked; sign in with a valid key.',
  403: 'Your role does not allow this. Ask a tenant admin for a key with more rights.',
  404: 'That item no longer exists. Refresh the page to see the current state.',
  413: 'The file is too large for this server. Split it or ask an operator to raise the limit.',
  415: 'This file type is not supported. Convert it to PDF, Word, HTML or plain text and try again.',
  429: 'Too many requests. Wait a moment and try again.',
  503: 'The language model is unavailable right now. Try again in a minute or ask an operator to check it.',
};

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function messageFor(status: number, body: unknown, retryAfter: number | null): string {
  let message = FALLBACK_MESSAGES[status] ?? `The server answered with an error (HTTP ${status}). Try again.`;
  if (body && typeof body === 'object' && 'detail' in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === 'string' && detail.trim()) message = detail;
    else if (Array.isArray(detail) && detail.length) {
      // FastAPI validation errors: a list of {loc, msg}.
      message = detail.map((d) => (d && typeof d === 'object' && 'msg' in d ? String(d.msg) : String(d))).join('; ');
    }
  }
  if (status === 429 && retryAfter !== null) message += ` You can try again in ${retryAfter} s.`;
  return message;
}

export class Api {
  private readonly key: string;
  private readonly onUnauthorized: UnauthorizedHandler;

  constructor(key: string, onUnauthorized: UnauthorizedHandler) {
    this.key = key;
    this.onUnauthorized = onUnauthorized;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  /** Turns a non-2xx response into an ApiError (and signs out on 401). */
  async failure(res: Response): Promise<ApiError> {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON: keep the fallback sentence */
    }
    const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
    if (res.status === 401) this.onUnauthorized();
    return new ApiError(res.status, messageFor(res.status, body, retryAfter), retryAfter);
  }

  private async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'The Enclave server could not be reached. Check your connection and try again.');
    }
    if (!res.ok) throw await this.failure(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  me(): Promise<Me> {
    return this.request('GET', '/v1/me');
  }

  models(): Promise<{ data: Model[] }> {
    return this.request('GET', '/v1/models');
  }

  listDocuments(query: { q?: string; status?: string; collection?: string; limit: number; offset: number }): Promise<DocPage> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(name, String(value));
    }
    return this.request('GET', `/v1/documents?${params}`);
  }

  getDocument(id: string, signal?: AbortSignal): Promise<Doc> {
    return this.request('GET', `/v1/documents/${encodeURIComponent(id)}`, undefined, signal);
  }

  deleteDocument(id: string): Promise<void> {
    return this.request('DELETE', `/v1/documents/${encodeURIComponent(id)}`);
  }

  async documentFile(id: string): Promise<Blob> {
    const res = await fetch(`/v1/documents/${encodeURIComponent(id)}/file`, { headers: this.headers() });
    if (!res.ok) throw await this.failure(res);
    return res.blob();
  }

  /**
   * Uploads one file with XMLHttpRequest, because fetch cannot report upload progress.
   * Resolves with the documents the server created (202).
   */
  uploadFile(
    file: File,
    options: { collection?: string; onProgress: (fraction: number) => void; signal?: AbortSignal },
  ): Promise<Doc[]> {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append('files', file, file.name);
      if (options.collection) form.append('collection', options.collection);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/v1/documents');
      xhr.setRequestHeader('Authorization', `Bearer ${this.key}`);
      xhr.responseType = 'text';
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) options.onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          /* keep null */
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          options.onProgress(1);
          resolve(((body as { documents?: Doc[] } | null)?.documents ?? []) as Doc[]);
          return;
        }
        const retryAfter = parseRetryAfter(xhr.getResponseHeader('Retry-After'));
        if (xhr.status === 401) this.onUnauthorized();
        reject(new ApiError(xhr.status, messageFor(xhr.status, body, retryAfter), retryAfter));
      };
      xhr.onerror = () => reject(new ApiError(0, 'The upload was interrupted. Check your connection and try again.'));
      xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
      options.signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(form);
    });
  }

  listKeys(): Promise<{ keys: ApiKey[] }> {
    return this.request('GET', '/v1/keys');
  }

  createKey(name: string, role: Role, userId?: string): Promise<NewKey> {
    return this.request('POST', '/v1/keys', userId ? { name, role, user_id: userId } : { name, role });
  }

  revokeKey(id: string): Promise<void> {
    return this.request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
  }

  // --- access control: users, groups, document ACLs, the audit log (tenant admins, except setAcl) ---
  listUsers(): Promise<{ users: User[] }> {
    return this.request('GET', '/v1/users');
  }

  createUser(user: { name: string; email?: string; role: Role }): Promise<User> {
    return this.request('POST', '/v1/users', user);
  }

  deleteUser(id: string): Promise<void> {
    return this.request('DELETE', `/v1/users/${encodeURIComponent(id)}`);
  }

  listGroups(): Promise<{ groups: Group[] }> {
    return this.request('GET', '/v1/groups');
  }

  createGroup(name: string): Promise<Group> {
    return this.request('POST', '/v1/groups', { name });
  }

  deleteGroup(id: string): Promise<void> {
    return this.request('DELETE', `/v1/groups/${encodeURIComponent(id)}`);
  }

  addMember(groupId: string, userId: string): Promise<void> {
    return this.request('POST', `/v1/groups/${encodeURIComponent(groupId)}/members`, { user_id: userId });
  }

  removeMember(groupId: string, userId: string): Promise<void> {
    const path = `/v1/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(userId)}`;
    return this.request('DELETE', path);
  }

  /** The owner or an admin: `{acl: null}` tenant-wide, `{acl: {users: [], groups: []}}` owner only. */
  setAcl(documentId: string, body: { acl: { users: string[]; groups: string[] } | null }): Promise<Doc> {
    return this.request('PATCH', `/v1/documents/${encodeURIComponent(documentId)}`, body);
  }

  /** `query` is the string from lib/audit.ts `auditListQuery`. */
  listAudit(query: string, signal?: AbortSignal): Promise<AuditPage> {
    return this.request('GET', `/v1/audit?${query}`, undefined, signal);
  }

  /** The filtered log as JSON Lines, fetched with the key (a plain link could not carry it). */
  async exportAudit(query: string): Promise<Blob> {
    const res = await fetch(`/v1/audit/export?${query}`, { headers: this.headers() });
    if (!res.ok) throw await this.failure(res);
    return res.blob();
  }

  listConversations(): Promise<{ conversations: ConversationSummary[] }> {
    return this.request('GET', '/v1/conversations');
  }

  getConversation(id: string): Promise<Conversation> {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(id)}`);
  }

  renameConversation(id: string, title: string): Promise<ConversationSummary> {
    return this.request('PATCH', `/v1/conversations/${encodeURIComponent(id)}`, { title });
  }

  deleteConversation(id: string): Promise<void> {
    return this.request('DELETE', `/v1/conversations/${encodeURIComponent(id)}`);
  }

  /**
   * Streams a chat completion. `onDelta` gets each piece of answer text as it arrives; the
   * promise resolves with the citations and conversation id that follow the text.
   */
  async streamChat(
    request: { model: string; messages: { role: string; content: string }[]; conversation_id?: string },
    onDelta: (text: string) => void,
    signal: AbortSignal,
  ): Promise<{ citations: Citation[]; conversationId: string | null }> {
    let res: Response;
    try {
      res = await fetch('/v1/chat/completions', {
        method: 'POST',
        headers: this.headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify({ ...request, stream: true }),
        signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'The Enclave server could not be reached. Check your connection and try again.');
    }
    if (!res.ok) throw await this.failure(res);
    if (!res.body) throw new ApiError(0, 'This browser cannot read streamed answers.');

    const result: { citations: Citation[]; conversationId: string | null } = { citations: [], conversationId: null };
    for await (const data of sseData(res.body)) {
      if (data === '[DONE]') break;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(data) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (event.object === 'enclave.citations') {
        result.citations = (event.citations as Citation[] | undefined) ?? [];
        result.conversationId = (event.conversation_id as string | undefined) ?? result.conversationId;
      } else if (event.error) {
        const error = event.error as { message?: string };
        throw new ApiError(500, error.message ?? 'The answer stopped because of a server error. Try again.');
      } else {
        const choices = event.choices as { delta?: { content?: string | null } }[] | undefined;
        const text = choices?.[0]?.delta?.content;
        if (text) onDelta(text);
        if (typeof event.conversation_id === 'string') result.conversationId = event.conversation_id;
      }
    }
    return result;
  }
}

/** Yields the `data:` payload of each server-sent event in a byte stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += decoder.decode(value ?? new Uint8Array(), { stream: !done });
      buffer = buffer.replace(/\r\n?/g, '\n');
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (data) yield data;
      }
      if (done) {
        const tail = buffer.trim();
        if (tail.startsWith('data:')) yield tail.slice(5).trim();
        return;
      }
    }
  } finally {
    // Stops the download when the reader leaves early ([DONE] or an error).
    reader.cancel().catch(() => undefined);
  }
}

// --- access control (users, groups, ACLs, audit); interfaces merge with the ones above ---

export interface Me {
  /** The user the key acts as; absent or null for a key that is its own principal. */
  user_id?: string | null;
  groups?: string[];
}

export interface Doc {
  /** The user (or key) that uploaded it. */
  owner?: string | null;
  /** null: everyone in the tenant; otherwise the users (owner included) and groups allowed. */
  acl?: { users: string[]; groups: string[] } | null;
}

export interface ApiKey {
  user_id?: string | null;
}

export interface User {
  id: string;
  name: string;
  email: string | null;
  role: Role;
  created_at: string;
  /** Group ids. */
  groups: string[];
}

export interface Group {
  id: string;
  name: string;
  /** User ids. */
  members: string[];
}

export interface AuditEvent {
  id: number;
  seq: number;
  at: string;
  key_id: string | null;
  user_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  source: string | null;
  query: string | null;
  document_ids: string[];
  details: Record<string, unknown>;
  hash: string;
}

export interface AuditPage {
  events: AuditEvent[];
  total: number;
  limit: number;
  offset: number;
  next_cursor: number | null;
}
