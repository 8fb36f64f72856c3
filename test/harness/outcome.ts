// What a promise ends in, as a test asserts it: 'ok', or the `code` of the error it rejects with.

/** 'ok' when p resolves, else the rejecting error's `code`. */
export async function outcomeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
}
