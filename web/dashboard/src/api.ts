// api.ts: the page's one plain GraphQL request, the list of services the token's user can
// open. Everything after it comes over the WebSocket; the page never polls.
import { documentId } from './documents';
import type { ServicesQuery as Services } from './gql/graphql';
import { ServicesQuery } from './operations';

// TokenRefused is the API saying no to the token: it is malformed, expired or signed with
// another key, or its user is gone.
export class TokenRefused extends Error {}

// ApiUnavailable is any other failure: the network, or an answer the page cannot read.
export class ApiUnavailable extends Error {}

export type Service = Services['services'][number];

interface GraphQLErrorLike {
  message?: string;
  extensions?: { code?: string };
}

// fetchServices returns the token's services, or throws TokenRefused or ApiUnavailable.
export async function fetchServices(token: string): Promise<Service[]> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ documentId: documentId(ServicesQuery) }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiUnavailable('The API could not be reached. Check your connection and try again.');
  }
  let body: { data?: Partial<Services> | null; errors?: GraphQLErrorLike[] } | null;
  try {
    body = await response.json();
  } catch {
    throw new ApiUnavailable(`The API answered ${response.status} with something that is not GraphQL.`);
  }
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  if (response.status === 401 || errors.some((e) => e?.extensions?.code === 'UNAUTHENTICATED')) {
    const reason = errors[0]?.message;
    throw new TokenRefused(reason ? `Token refused: ${reason}.` : 'Token refused.');
  }
  const services = body?.data?.services;
  if (errors.length > 0 || !Array.isArray(services)) {
    throw new ApiUnavailable(`The API could not list your services: ${errors[0]?.message ?? `status ${response.status}`}.`);
  }
  return services;
}

// tokenProblem says what is wrong with pasted text that cannot be a token, or null. A
// pasted "Bearer " prefix is fine and is dropped by cleanToken.
export function tokenProblem(token: string): string | null {
  if (token === '') return 'Paste a token first.';
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return 'That is not a token: a token has no spaces, line breaks or accented characters.';
  }
  return null;
}

export function cleanToken(pasted: string): string {
  return pasted.trim().replace(/^Bearer\s+/i, '');
}
