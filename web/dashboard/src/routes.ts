// routes.ts: the dashboard's views and their URLs beneath /dashboard, so a reload or a
// shared link opens the same view (the server answers each of these URLs with the page).
// A URL holds ids only, never personal data. The token is not in it either: after a reload
// the page asks for the token again, then opens the view the URL names.

export const base = '/dashboard';

export type Route =
  | { view: 'start' }
  | { view: 'overview'; serviceId: string }
  | { view: 'notification'; serviceId: string; notificationId: string }
  // year is the financial year (the one April to March starts in), null for the current.
  | { view: 'statistics'; serviceId: string; year: number | null }
  // The notifications of one type. search is the hash rememberSearch returned (never the
  // term), after the cursor of the page before's last row, status a status pill's group.
  | { view: 'activity'; serviceId: string; type: ActivityType; status: ActivityStatus | null; search: string | null; after: string | null }
  // Template usage and usage and billing by month, over a financial year as statistics.
  | { view: 'templates'; serviceId: string; year: number | null }
  | { view: 'usage'; serviceId: string; year: number | null }
  // The inbox, and the conversation with the number that sent one of its texts (named by
  // the text's id, never by the number).
  | { view: 'inbox'; serviceId: string }
  | { view: 'conversation'; serviceId: string; inboundSmsId: string };

// The views by financial year, each beneath its own path segment.
export const yearViews = ['statistics', 'templates', 'usage'] as const;
export type YearView = (typeof yearViews)[number];

export const activityTypes = ['email', 'sms', 'letter'] as const;
export type ActivityType = (typeof activityTypes)[number];
export const activityStatuses = ['sending', 'delivered', 'failed'] as const;
export type ActivityStatus = (typeof activityStatuses)[number];

// The API's ids are UUIDs: anything else in their place is no view.
const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const overviewPath = new RegExp(`^${base}/services/(${uuid})/?$`);
const notificationPath = new RegExp(`^${base}/services/(${uuid})/notifications/(${uuid})/?$`);
const activityPath = new RegExp(`^${base}/services/(${uuid})/notifications/(email|sms|letter)/?$`);
const yearPath = new RegExp(`^${base}/services/(${uuid})/(statistics|templates|usage)(?:/(20[0-9]{2}))?/?$`);
const inboxPath = new RegExp(`^${base}/services/(${uuid})/inbox(?:/(${uuid}))?/?$`);

// parseRoute is the view a path (and, for the activity view, its query) names, or null for
// a path beneath the page that names none. A query parameter that is not one the view
// writes is dropped, as is a malformed one.
export function parseRoute(pathname: string, search = ''): Route | null {
  if (pathname === base || pathname === `${base}/`) return { view: 'start' };
  const overview = overviewPath.exec(pathname);
  if (overview) return { view: 'overview', serviceId: overview[1].toLowerCase() };
  const notification = notificationPath.exec(pathname);
  if (notification) {
    return { view: 'notification', serviceId: notification[1].toLowerCase(), notificationId: notification[2].toLowerCase() };
  }
  const activity = activityPath.exec(pathname);
  if (activity) {
    const query = new URLSearchParams(search);
    const status = query.get('status');
    const hash = query.get('search');
    const after = query.get('after');
    return {
      view: 'activity', serviceId: activity[1].toLowerCase(), type: activity[2] as ActivityType,
      status: (activityStatuses as readonly string[]).includes(status ?? '') ? status as ActivityStatus : null,
      // rememberSearch's hash is 128 lowercase hex digits; a cursor is opaque but short.
      search: hash && /^[0-9a-f]{128}$/.test(hash) ? hash : null,
      after: after && after.length <= 200 ? after : null,
    };
  }
  const byYear = yearPath.exec(pathname);
  if (byYear) {
    return { view: byYear[2] as YearView, serviceId: byYear[1].toLowerCase(), year: byYear[3] ? Number(byYear[3]) : null };
  }
  const inbox = inboxPath.exec(pathname);
  if (inbox) {
    return inbox[2] ? { view: 'conversation', serviceId: inbox[1].toLowerCase(), inboundSmsId: inbox[2].toLowerCase() }
      : { view: 'inbox', serviceId: inbox[1].toLowerCase() };
  }
  return null;
}

export function routePath(route: Route): string {
  switch (route.view) {
    case 'start':
      return base;
    case 'overview':
      return `${base}/services/${route.serviceId}`;
    case 'notification':
      return `${base}/services/${route.serviceId}/notifications/${route.notificationId}`;
    case 'statistics':
    case 'templates':
    case 'usage':
      return `${base}/services/${route.serviceId}/${route.view}${route.year === null ? '' : `/${route.year}`}`;
    case 'inbox':
      return `${base}/services/${route.serviceId}/inbox`;
    case 'conversation':
      return `${base}/services/${route.serviceId}/inbox/${route.inboundSmsId}`;
    case 'activity': {
      const query = new URLSearchParams();
      if (route.status) query.set('status', route.status);
      if (route.search) query.set('search', route.search);
      if (route.after) query.set('after', route.after);
      const q = query.toString();
      return `${base}/services/${route.serviceId}/notifications/${route.type}${q ? `?${q}` : ''}`;
    }
  }
}

// currentRoute is the view the address bar names.
export function currentRoute(): Route | null {
  return parseRoute(window.location.pathname, window.location.search);
}

// navigate puts route in the address bar as a new history entry (the browser's Back returns
// to the view before), or in place of the current one with replace.
export function navigate(route: Route, replace = false): void {
  const path = routePath(route);
  if (window.location.pathname + window.location.search === path) return;
  if (replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
}
