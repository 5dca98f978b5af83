// documents.ts: how the page names an operation to the API: by the hash GraphQL Code
// Generator gave it (documentId), never by its text, so that a server enforcing its
// trusted documents runs it. The generated documents carry only that hash.
import type { TypedDocumentString } from './gql/graphql';

// A typed document: its result and variables types ride along for the compiler only.
export type Document<Result, Variables> = TypedDocumentString<Result, Variables>;

// documentId is the document's id as the API takes it: "sha256:" and the hash of its text.
export function documentId<Result, Variables>(document: Document<Result, Variables>): string {
  const hash: unknown = document.__meta__?.hash;
  if (typeof hash !== 'string') throw new Error('A document without its hash: rebuild the page with npm run build.');
  return hash;
}
