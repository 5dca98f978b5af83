// GraphiQL keeps its tabs and history in localStorage, each entry with the request headers
// it ran with and the tab's last response. The headers carry the bearer token and responses
// carry personal data, neither of which may be stored in the browser, so this storage drops
// them on the way in and keeps the rest (queries, variables, tabs, history, theme).

// Keys GraphiQL stores a header editor's text under, whole.
const headerKey = /headers$/i;

// Fields of stored JSON (tabs, history items) whose values are blanked.
const unstoredFields = new Set(['headers', 'response']);

function withoutUnstoredFields(value) {
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  if (parsed === null || typeof parsed !== 'object') return value;
  // null, not absent: GraphiQL reads a stored tab back only when each field is a string or null.
  return JSON.stringify(parsed, (key, field) => (unstoredFields.has(key) ? null : field));
}

export const headerlessStorage = {
  getItem: (key) => window.localStorage.getItem(key),
  setItem(key, value) {
    if (headerKey.test(key)) {
      window.localStorage.removeItem(key);
      return;
    }
    window.localStorage.setItem(key, withoutUnstoredFields(String(value)));
  },
  removeItem: (key) => window.localStorage.removeItem(key),
  clear() {
    for (const key of Object.keys(window.localStorage)) {
      if (key.startsWith('graphiql:')) window.localStorage.removeItem(key);
    }
  },
  key: (index) => window.localStorage.key(index),
  get length() {
    return window.localStorage.length;
  },
};
