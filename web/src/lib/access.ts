// Who may see a document, in words, and the PATCH body the ACL editor sends. Pure functions, no
// imports, so `npm test` runs them under node (web/test/access.test.ts).

/** A document's ACL as the API shows it: null is tenant-wide; the owner is among `users`. */
export type AclView = { users: string[]; groups: string[] } | null;

/** What the editor offers: everyone in the tenant, the owner alone (and admins), or chosen people. */
export type AclMode = 'tenant' | 'owner' | 'chosen';

/** id → display name for users, groups and keys; an id not in it is shown as the id. */
export type Names = Map<string, string>;

export function nameMap(...lists: { id: string; name: string }[][]): Names {
  const names: Names = new Map();
  for (const list of lists) for (const item of list) if (!names.has(item.id)) names.set(item.id, item.name);
  return names;
}

export function nameOf(id: string, names: Names): string {
  return names.get(id) ?? id;
}

/** The users of an ACL other than the owner, who is always allowed. */
export function otherUsers(acl: AclView, owner: string | null): string[] {
  return acl ? acl.users.filter((u) => u !== owner) : [];
}

export function aclMode(acl: AclView, owner: string | null): AclMode {
  if (acl === null) return 'tenant';
  return otherUsers(acl, owner).length === 0 && acl.groups.length === 0 ? 'owner' : 'chosen';
}

/** One line for the library table: "Everyone in the tenant", "Owner only", "Groups: A, B · Users: C". */
export function aclSummary(acl: AclView, owner: string | null, names: Names): string {
  const mode = aclMode(acl, owner);
  if (mode === 'tenant') return 'Everyone in the tenant';
  if (mode === 'owner') return 'Owner only';
  const groups = (acl?.groups ?? []).map((g) => nameOf(g, names)).sort();
  const users = otherUsers(acl, owner).map((u) => nameOf(u, names)).sort();
  const parts = [];
  if (groups.length) parts.push(`${groups.length === 1 ? 'Group' : 'Groups'}: ${groups.join(', ')}`);
  if (users.length) parts.push(`${users.length === 1 ? 'User' : 'Users'}: ${users.join(', ')}`);
  return parts.join(' · ');
}

/** The owner as a person reads it: "you" for the caller, else the name, else the id. */
export function ownerLabel(owner: string | null, self: string, names: Names): string {
  if (!owner) return 'unknown';
  return owner === self ? 'you' : nameOf(owner, names);
}

export type AclBody = { acl: { users: string[]; groups: string[] } | null };

/** The PATCH body for the editor's choice, or a sentence saying what is missing. */
export function aclBody(mode: AclMode, users: string[], groups: string[]): AclBody | string {
  if (mode === 'tenant') return { acl: null };
  if (mode === 'owner') return { acl: { users: [], groups: [] } };
  const clean = (ids: string[]) => [...new Set(ids.map((i) => i.trim()).filter(Boolean))];
  const chosen = { users: clean(users), groups: clean(groups) };
  if (!chosen.users.length && !chosen.groups.length) {
    return 'Choose at least one user or group, or pick “Only the owner and admins”.';
  }
  return { acl: chosen };
}

/** Ids typed into a box: separated by commas, spaces or new lines. */
export function parseIds(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}
