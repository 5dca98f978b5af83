// api.js: the page's one plain GraphQL request, the list of services the token's user can
// open. Everything after it comes over the WebSocket; the page never polls.

// TokenRefused is the API saying no to the token: it is malformed, expired or signed with
// another key, or its user is gone.
export class TokenRefused extends Error {}

// ApiUnavailable is any other failure: the network, or an answer the page cannot read.
export class ApiUnavailable extends Error {}

const servicesQuery = '{ services { id name } }';

// fetchServices returns [{id, name}] for the token, or throws TokenRefused or ApiUnavailable.
export async function fetchServices(token) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ query: servicesQuery }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiUnavailable('The API could not be reached. Check your connection and try again.');
  }
  let body;
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
  if (errors.length > 0 || !Array.isArray(body?.data?.services)) {
    throw new ApiUnavailable(`The API could not list your services: ${errors[0]?.message ?? `status ${response.status}`}.`);
  }
  return body.data.services;
}

// tokenProblem says what is wrong with pasted text that cannot be a token, or null. A
// pasted "Bearer " prefix is fine and is dropped by cleanToken.
export function tokenProblem(token) {
  if (token === '') return 'Paste a token first.';
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return 'That is not a token: a token has no spaces, line breaks or accented characters.';
  }
  return null;
}

export function cleanToken(pasted) {
  return pasted.trim().replace(/^Bearer\s+/i, '');
}
