// ES2015+ library members that njs 0.7.9 (the oldest runtime we support)
// implements, declared here because lib "ES2015.Core" would also admit what it
// lacks (Array.from arrived in 0.8.0, String.prototype.replaceAll in 0.7.10).

interface ObjectConstructor {
  assign<T extends {}, U>(target: T, source: U): T & U;
  keys(o: object): string[];
  values<T>(o: { [s: string]: T }): T[];
  entries<T>(o: { [s: string]: T }): [string, T][];
  is(a: any, b: any): boolean;
}

interface Array<T> {
  includes(searchElement: T, fromIndex?: number): boolean;
  find(predicate: (value: T, index: number, obj: T[]) => unknown): T | undefined;
  findIndex(predicate: (value: T, index: number, obj: T[]) => unknown): number;
  fill(value: T, start?: number, end?: number): this;
}

interface ReadonlyArray<T> {
  includes(searchElement: T, fromIndex?: number): boolean;
  find(predicate: (value: T, index: number, obj: readonly T[]) => unknown): T | undefined;
}

interface String {
  startsWith(searchString: string, position?: number): boolean;
  endsWith(searchString: string, endPosition?: number): boolean;
  includes(searchString: string, position?: number): boolean;
  repeat(count: number): string;
  padStart(maxLength: number, fillString?: string): string;
  padEnd(maxLength: number, fillString?: string): string;
  codePointAt(pos: number): number | undefined;
}

interface StringConstructor {
  fromCodePoint(...codePoints: number[]): string;
}

interface NumberConstructor {
  isInteger(n: unknown): boolean;
  isSafeInteger(n: unknown): boolean;
  isFinite(n: unknown): boolean;
  readonly MAX_SAFE_INTEGER: number;
}

interface Uint8Array {
  fill(value: number, start?: number, end?: number): this;
}

interface PromiseConstructor {
  all<T>(values: readonly (T | PromiseLike<T>)[]): Promise<T[]>;
}
