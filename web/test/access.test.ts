// How a document's ACL reads in the library, and the PATCH body the ACL editor sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aclBody, aclMode, aclSummary, nameMap, ownerLabel, parseIds } from '../src/lib/access.ts';

const names = nameMap(
  [
    { id: 'u1', name: 'Ann' },
    { id: 'u2', name: 'Bob' },
  ],
  [
    { id: 'g1', name: 'Psychiatry' },
    { id: 'g2', name: 'Billing' },
  ],
);

test('no ACL is everyone in the tenant', () => {
  assert.equal(aclMode(null, 'u1'), 'tenant');
  assert.equal(aclSummary(null, 'u1', names), 'Everyone in the tenant');
});

test('an ACL holding only the owner is owner only, never everyone', () => {
  assert.equal(aclMode({ users: ['u1'], groups: [] }, 'u1'), 'owner');
  assert.equal(aclSummary({ users: ['u1'], groups: [] }, 'u1', names), 'Owner only');
  assert.equal(aclSummary({ users: [], groups: [] }, 'u1', names), 'Owner only');
});

test('chosen users and groups are named, the owner left out, unknown ids shown as ids', () => {
  const acl = { users: ['u1', 'u2', 'zz9'], groups: ['g2', 'g1'] };
  assert.equal(aclMode(acl, 'u1'), 'chosen');
  assert.equal(aclSummary(acl, 'u1', names), 'Groups: Billing, Psychiatry · Users: Bob, zz9');
  assert.equal(aclSummary({ users: ['u1'], groups: ['g1'] }, 'u1', names), 'Group: Psychiatry');
});

test('the owner reads as you, a name, or the id', () => {
  assert.equal(ownerLabel('u1', 'u1', names), 'you');
  assert.equal(ownerLabel('u2', 'u1', names), 'Bob');
  assert.equal(ownerLabel('k77', 'u1', names), 'k77');
  assert.equal(ownerLabel(null, 'u1', names), 'unknown');
});

test('the editor sends null for tenant-wide, empty lists for owner only, the choice otherwise', () => {
  assert.deepEqual(aclBody('tenant', ['u2'], ['g1']), { acl: null });
  assert.deepEqual(aclBody('owner', ['u2'], ['g1']), { acl: { users: [], groups: [] } });
  assert.deepEqual(aclBody('chosen', [' u2 ', 'u2', ''], ['g1']), { acl: { users: ['u2'], groups: ['g1'] } });
});

test('choosing nobody is refused with a sentence instead of sending an empty ACL', () => {
  const result = aclBody('chosen', [' '], []);
  assert.equal(typeof result, 'string');
  assert.match(result as string, /Choose at least one user or group/);
});

test('typed ids split on commas, spaces and new lines', () => {
  assert.deepEqual(parseIds('a1, b2\nc3  d4,,'), ['a1', 'b2', 'c3', 'd4']);
  assert.deepEqual(parseIds('  '), []);
});
