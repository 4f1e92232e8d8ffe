/**
 * The one challenge of a `WWW-Authenticate` header this client can answer. `realm` is where a
 * Bearer token comes from; `service` and `scope` are passed to it as query parameters.
 */
export interface AuthChallenge {
  readonly scheme: 'bearer' | 'basic'
  readonly realm?: string
  readonly service?: string
  readonly scope?: string
}

/** RFC 9110 §5.6.2 tchar. */
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/
/** RFC 9110 §11.2 token68, past its trailing `=` padding. */
const TOKEN68_CHARS = /^[-._~+/0-9A-Za-z]$/

/**
 * The first Bearer or Basic challenge of a `WWW-Authenticate` value (several headers may be given,
 * or several challenges in one, comma-separated), or undefined when there is none. Scheme and
 * parameter names are case-insensitive; values may be quoted strings with backslash escapes, or
 * bare up to the next comma or space (a token, or a URL some servers leave unquoted); the first occurrence of a parameter wins. Never throws: whatever cannot be read ends
 * the parse and what was read before it stands.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): AuthChallenge | undefined {
  if (header === undefined) return undefined
  const text = typeof header === 'string' ? header : header.join(', ')
  for (const challenge of new ChallengeReader(text).challenges()) {
    const scheme = challenge.scheme.toLowerCase()
    if (scheme !== 'bearer' && scheme !== 'basic') continue
    const { params } = challenge
    const realm = params.get('realm')
    const service = params.get('service')
    const scope = params.get('scope')
    return {
      scheme,
      ...(realm === undefined ? {} : { realm }),
      ...(service === undefined ? {} : { service }),
      ...(scope === undefined ? {} : { scope }),
    }
  }
  return undefined
}

interface RawChallenge {
  readonly scheme: string
  readonly params: Map<string, string>
}

/** A cursor over the header's characters, reading `challenge *( "," challenge )`. */
class ChallengeReader {
  private index = 0

  constructor(private readonly text: string) {}

  challenges(): RawChallenge[] {
    const found: RawChallenge[] = []
    for (;;) {
      this.skip(' \t,')
      const scheme = this.token()
      if (scheme === '') return found
      const challenge: RawChallenge = { scheme, params: new Map() }
      found.push(challenge)
      if (!this.readParams(challenge)) return found
    }
  }

  /** Reads the challenge's token68 or parameters; false when the header cannot be read further. */
  private readParams(challenge: RawChallenge): boolean {
    this.skip(' \t')
    if (this.atEnd() || this.peek() === ',') return true
    if (this.atToken68()) {
      while (!this.atEnd() && TOKEN68_CHARS.test(this.text.charAt(this.index))) this.index++
      this.skip('=')
      this.skip(' \t')
      return this.atEnd() || this.peek() === ','
    }
    for (;;) {
      const start = this.index
      const name = this.token()
      this.skip(' \t')
      if (name === '') return false
      // A name with no `=` after a comma is the next challenge's scheme.
      if (this.peek() !== '=') {
        this.index = start
        return true
      }
      this.index++
      this.skip(' \t')
      const value = this.peek() === '"' ? this.quoted() : this.bareValue()
      if (value === undefined) return false
      const key = name.toLowerCase()
      if (!challenge.params.has(key)) challenge.params.set(key, value)
      this.skip(' \t')
      if (this.atEnd()) return true
      if (this.peek() !== ',') return false
      this.skip(' \t,')
      if (this.atEnd()) return true
    }
  }

  /**
   * Whether a token68 credential (`Negotiate abc==`) starts here rather than a parameter: its
   * characters are followed by the end, a comma, or `=` padding that ends the item.
   */
  private atToken68(): boolean {
    let end = this.index
    while (end < this.text.length && TOKEN68_CHARS.test(this.text.charAt(end))) end++
    if (end === this.index) return false
    let afterPadding = end
    while (afterPadding < this.text.length && this.text.charAt(afterPadding) === '=') afterPadding++
    while (afterPadding < this.text.length && ' \t'.includes(this.text.charAt(afterPadding))) afterPadding++
    const next = this.text.charAt(afterPadding)
    // One `=` then a value is a parameter; no `=`, or padding then the end or a comma, is token68.
    if (afterPadding === end) return next === '' || next === ','
    if (afterPadding === this.text.length || next === ',') return true
    return this.text.slice(end, afterPadding).trim().length > 1
  }

  private token(): string {
    const start = this.index
    while (this.index < this.text.length && TOKEN_CHARS.test(this.text.charAt(this.index))) this.index++
    return this.text.slice(start, this.index)
  }

  /** An unquoted value up to the next comma or space: lenient, as some servers send URLs unquoted. */
  private bareValue(): string {
    const start = this.index
    while (this.index < this.text.length && !' \t,'.includes(this.text.charAt(this.index))) this.index++
    return this.text.slice(start, this.index)
  }

  /** A quoted string with its escapes undone; undefined when it never closes. */
  private quoted(): string | undefined {
    this.index++
    let value = ''
    while (this.index < this.text.length) {
      const char = this.text.charAt(this.index++)
      if (char === '"') return value
      if (char === '\\' && this.index < this.text.length) value += this.text.charAt(this.index++)
      else value += char
    }
    return undefined
  }

  private skip(chars: string): void {
    while (this.index < this.text.length && chars.includes(this.text.charAt(this.index))) this.index++
  }

  private peek(): string | undefined {
    return this.index < this.text.length ? this.text.charAt(this.index) : undefined
  }

  private atEnd(): boolean {
    return this.index >= this.text.length
  }
}
