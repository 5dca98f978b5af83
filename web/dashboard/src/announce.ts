// announce.ts: what a screen reader hears of the overview's live numbers. The numbers on
// screen change with every snapshot the subscriptions push; announcing each would talk over
// the user all day. So the figures are announced from one polite live region, only when the
// words would differ from the last announced, and at most once per interval: a burst of
// changes becomes one announcement of the latest figures.

export class Announcer {
  private spoken = '';
  private spokenAt = -Infinity;
  private pending: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly region: HTMLElement, private readonly intervalMs: number) {}

  // baseline takes text as already known (the figures a view first shows are on screen when
  // the user arrives, not news) without announcing it.
  baseline(text: string): void {
    this.reset();
    this.spoken = text;
  }

  // say announces text if it is news: now, or when the interval since the last announcement
  // is up, by which time a later say may have replaced it.
  say(text: string): void {
    this.pending = text === this.spoken ? null : text;
    if (this.pending === null || this.timer !== undefined) return;
    const wait = this.spokenAt + this.intervalMs - Date.now();
    if (wait <= 0) this.speak();
    else this.timer = setTimeout(() => this.speak(), wait);
  }

  // reset forgets what was said and cancels what was waiting (another service is chosen).
  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = null;
    this.spoken = '';
    this.region.textContent = '';
  }

  private speak(): void {
    this.timer = undefined;
    if (this.pending === null) return;
    this.spoken = this.pending;
    this.spokenAt = Date.now();
    this.pending = null;
    this.region.textContent = this.spoken;
  }
}
