import type { AttributeValue } from "@aws-sdk/client-dynamodb";

/**
 * DynamoDB condition and update expressions, enough for conditional writes: comparisons (= <> < <= > >=),
 * BETWEEN, IN, AND / OR / NOT, parentheses, attribute_exists, attribute_not_exists, begins_with, contains,
 * size; SET (with +, -, if_not_exists, list_append), REMOVE, ADD. Paths are top-level attributes (names or
 * #aliases); anything else is rejected loudly so a gap in the model shows.
 */

export type Item = Record<string, AttributeValue>;

export interface ExpressionContext {
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

export class ExpressionError extends Error {}

type Token = { kind: "name" | "value" | "alias" | "op" | "word" | "punct" | "number"; text: string };

const KEYWORDS = new Set(["AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"]);

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(<>|<=|>=|=|<|>)|([(),+\-\[\].])|(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([0-9]+)|([A-Za-z_][A-Za-z0-9_]*))/y;
  let index = 0;
  while (index < expression.length) {
    if (/^\s*$/.test(expression.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(expression);
    if (!match) throw new ExpressionError(`Invalid expression: unexpected "${expression.slice(index, index + 10)}"`);
    index = pattern.lastIndex;
    const [, op, punct, alias, value, number, word] = match;
    if (op) tokens.push({ kind: "op", text: op });
    else if (punct) tokens.push({ kind: "punct", text: punct });
    else if (alias) tokens.push({ kind: "alias", text: alias });
    else if (value) tokens.push({ kind: "value", text: value });
    else if (number) tokens.push({ kind: "number", text: number });
    else if (word) tokens.push({ kind: KEYWORDS.has(word.toUpperCase()) ? "word" : "name", text: word });
  }
  return tokens;
}

class Parser {
  private position = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly context: ExpressionContext,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.position];
  }

  next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new ExpressionError("Invalid expression: unexpected end");
    return token;
  }

  accept(text: string): boolean {
    const token = this.peek();
    if (token && token.text.toUpperCase() === text.toUpperCase() && (token.kind === "word" || token.kind === "punct" || token.kind === "op")) {
      this.position++;
      return true;
    }
    return false;
  }

  expect(text: string): void {
    if (!this.accept(text)) throw new ExpressionError(`Invalid expression: expected "${text}" near token ${this.position}`);
  }

  done(): boolean {
    return this.position >= this.tokens.length;
  }

  /** A top-level attribute name (resolving #aliases). */
  path(): string {
    const token = this.next();
    let name: string;
    if (token.kind === "alias") {
      const resolved = this.context.names?.[token.text];
      if (resolved === undefined) throw new ExpressionError(`An expression attribute name used in the document path is not defined; attribute name: ${token.text}`);
      name = resolved;
    } else if (token.kind === "name") {
      name = token.text;
    } else {
      throw new ExpressionError(`Invalid expression: expected an attribute name, got "${token.text}"`);
    }
    const after = this.peek();
    if (after && after.kind === "punct" && (after.text === "." || after.text === "[")) {
      throw new ExpressionError("Nested document paths are not modelled by the simulated region");
    }
    return name;
  }

  value(): AttributeValue {
    const token = this.next();
    const value = this.context.values?.[token.text];
    if (token.kind !== "value" || value === undefined) {
      throw new ExpressionError(`An expression attribute value used in expression is not defined; attribute value: ${token.text}`);
    }
    return value;
  }
}

type Operand = (item: Item | undefined) => AttributeValue | undefined;

function isNumber(value: AttributeValue | undefined): value is AttributeValue.NMember {
  return value !== undefined && "N" in value && value.N !== undefined;
}

export function attributeEquals(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (isNumber(a) && isNumber(b)) return Number(a.N) === Number(b.N);
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (isNumber(a) && isNumber(b)) return Number(a.N) - Number(b.N);
  if ("S" in a && "S" in b && a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return undefined;
}

function sizeOf(value: AttributeValue | undefined): number | undefined {
  if (!value) return undefined;
  if (value.S !== undefined) return value.S.length;
  if (value.B !== undefined) return value.B.length;
  if (value.L !== undefined) return value.L.length;
  if (value.M !== undefined) return Object.keys(value.M).length;
  if (value.SS !== undefined) return value.SS.length;
  if (value.NS !== undefined) return value.NS.length;
  return undefined;
}

function parseOperand(parser: Parser): Operand {
  const token = parser.peek();
  if (token?.kind === "value") {
    const value = parser.value();
    return () => value;
  }
  if (token?.kind === "name" && token.text === "size") {
    parser.next();
    parser.expect("(");
    const name = parser.path();
    parser.expect(")");
    return (item) => {
      const size = sizeOf(item?.[name]);
      return size === undefined ? undefined : { N: String(size) };
    };
  }
  const name = parser.path();
  return (item) => item?.[name];
}

type Condition = (item: Item | undefined) => boolean;

function parseOr(parser: Parser): Condition {
  let left = parseAnd(parser);
  while (parser.accept("OR")) {
    const l = left;
    const r = parseAnd(parser);
    left = (item) => l(item) || r(item);
  }
  return left;
}

function parseAnd(parser: Parser): Condition {
  let left = parseNot(parser);
  while (parser.accept("AND")) {
    const l = left;
    const r = parseNot(parser);
    left = (item) => l(item) && r(item);
  }
  return left;
}

function parseNot(parser: Parser): Condition {
  if (parser.accept("NOT")) {
    const inner = parseNot(parser);
    return (item) => !inner(item);
  }
  return parsePrimary(parser);
}

function parsePrimary(parser: Parser): Condition {
  if (parser.accept("(")) {
    const inner = parseOr(parser);
    parser.expect(")");
    return inner;
  }
  const token = parser.peek();
  const fn = token?.kind === "name" ? token.text : undefined;
  if (fn === "attribute_exists" || fn === "attribute_not_exists") {
    parser.next();
    parser.expect("(");
    const name = parser.path();
    parser.expect(")");
    return fn === "attribute_exists" ? (item) => item?.[name] !== undefined : (item) => item?.[name] === undefined;
  }
  if (fn === "begins_with" || fn === "contains") {
    parser.next();
    parser.expect("(");
    const subject = parseOperand(parser);
    parser.expect(",");
    const argument = parseOperand(parser);
    parser.expect(")");
    return (item) => {
      const s = subject(item);
      const a = argument(item);
      if (!s || !a) return false;
      if (fn === "begins_with") return s.S !== undefined && a.S !== undefined && s.S.startsWith(a.S);
      if (s.S !== undefined && a.S !== undefined) return s.S.includes(a.S);
      if (s.SS !== undefined && a.S !== undefined) return s.SS.includes(a.S);
      if (s.L !== undefined) return s.L.some((element) => attributeEquals(element, a));
      return false;
    };
  }
  const left = parseOperand(parser);
  if (parser.accept("BETWEEN")) {
    const low = parseOperand(parser);
    parser.expect("AND");
    const high = parseOperand(parser);
    return (item) => {
      const a = compare(left(item), low(item));
      const b = compare(left(item), high(item));
      return a !== undefined && b !== undefined && a >= 0 && b <= 0;
    };
  }
  if (parser.accept("IN")) {
    parser.expect("(");
    const options: Operand[] = [parseOperand(parser)];
    while (parser.accept(",")) options.push(parseOperand(parser));
    parser.expect(")");
    return (item) => options.some((option) => attributeEquals(left(item), option(item)));
  }
  const op = parser.next();
  if (op.kind !== "op") throw new ExpressionError(`Invalid ConditionExpression: expected a comparator, got "${op.text}"`);
  const right = parseOperand(parser);
  return (item) => {
    const a = left(item);
    const b = right(item);
    switch (op.text) {
      case "=":
        return attributeEquals(a, b);
      case "<>":
        return a !== undefined && b !== undefined && !attributeEquals(a, b);
      default: {
        const order = compare(a, b);
        if (order === undefined) return false;
        return op.text === "<" ? order < 0 : op.text === "<=" ? order <= 0 : op.text === ">" ? order > 0 : order >= 0;
      }
    }
  };
}

/** Evaluates a ConditionExpression against the current item (undefined when it does not exist). */
export function evaluateCondition(expression: string, item: Item | undefined, context: ExpressionContext): boolean {
  const parser = new Parser(tokenize(expression), context);
  const condition = parseOr(parser);
  if (!parser.done()) throw new ExpressionError(`Invalid ConditionExpression: unexpected "${parser.peek()?.text}"`);
  return condition(item);
}

function parseSetValue(parser: Parser): Operand {
  const token = parser.peek();
  if (token?.kind === "name" && (token.text === "if_not_exists" || token.text === "list_append")) {
    parser.next();
    parser.expect("(");
    const first = token.text === "if_not_exists" ? ((name: string): Operand => (item) => item?.[name])(parser.path()) : parseSetValue(parser);
    parser.expect(",");
    const second = parseSetValue(parser);
    parser.expect(")");
    if (token.text === "if_not_exists") return (item) => first(item) ?? second(item);
    return (item) => ({ L: [...(first(item)?.L ?? []), ...(second(item)?.L ?? [])] });
  }
  return parseOperand(parser);
}

/** Applies an UpdateExpression; returns the new item. */
export function applyUpdate(expression: string, item: Item | undefined, context: ExpressionContext): Item {
  const parser = new Parser(tokenize(expression), context);
  const result: Item = { ...(item ?? {}) };
  const original = item;
  while (!parser.done()) {
    const clause = parser.next();
    const keyword = clause.text.toUpperCase();
    do {
      if (keyword === "SET") {
        const name = parser.path();
        if (!parser.accept("=")) throw new ExpressionError("Invalid UpdateExpression: expected =");
        const left = parseSetValue(parser);
        let valueOf: Operand = left;
        const op = parser.peek();
        if (op?.kind === "punct" && (op.text === "+" || op.text === "-")) {
          parser.next();
          const right = parseSetValue(parser);
          valueOf = (current) => {
            const a = left(current);
            const b = right(current);
            if (!isNumber(a) || !isNumber(b)) throw new ExpressionError("An operand in the update expression has an incorrect data type");
            return { N: String(op.text === "+" ? Number(a.N) + Number(b.N) : Number(a.N) - Number(b.N)) };
          };
        }
        const value = valueOf(original);
        if (value === undefined) throw new ExpressionError("The provided expression refers to an attribute that does not exist in the item");
        result[name] = value;
      } else if (keyword === "REMOVE") {
        delete result[parser.path()];
      } else if (keyword === "ADD") {
        const name = parser.path();
        const value = parser.value();
        const current = original?.[name];
        if (isNumber(value)) {
          result[name] = { N: String(Number(isNumber(current) ? current.N : 0) + Number(value.N)) };
        } else if (value.SS !== undefined) {
          result[name] = { SS: [...new Set([...(current?.SS ?? []), ...value.SS])] };
        } else {
          throw new ExpressionError("ADD supports numbers and string sets in the simulated region");
        }
      } else {
        throw new ExpressionError(`Invalid UpdateExpression: unsupported clause "${clause.text}"`);
      }
    } while (parser.accept(","));
  }
  return result;
}
