/** A minimal external store for useSyncExternalStore: state plus change listeners. */
export class Store<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private state: T) {}

  /** The current state (a new object after every change). */
  get = (): T => this.state;

  /** Replaces the state with `update(state)`; listeners run when it changed. */
  update(update: (state: T) => T): void {
    const next = update(this.state);
    if (next === this.state) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  }

  /** Registers a change listener; returns its removal. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
