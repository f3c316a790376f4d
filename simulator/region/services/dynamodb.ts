import type {
  AttributeValue,
  DeleteItemCommandInput,
  DeleteItemCommandOutput,
  GetItemCommandInput,
  GetItemCommandOutput,
  PutItemCommandInput,
  PutItemCommandOutput,
  UpdateItemCommandInput,
  UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import type { OperationHandlers, Output } from "../context.js";
import { awsError } from "../errors.js";
import { ExpressionError, type Item, applyUpdate, evaluateCondition } from "./expressions.js";

export interface SimTable {
  name: string;
  partitionKey: string;
  sortKey?: string;
  items: Map<string, Item>;
}

function validation(message: string): Error {
  return awsError("DynamoDB", "ValidationException", message);
}

/** Runs `fn`, turning expression errors into DynamoDB's ValidationException. */
function withValidation<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ExpressionError) throw validation(error.message);
    throw error;
  }
}

/**
 * DynamoDB tables with conditional writes. Items are stored as AttributeValue maps, as the plain client
 * sends them (the product uses no DocumentClient).
 */
export class DynamoDbService {
  readonly tables = new Map<string, SimTable>();

  createTable(name: string, partitionKey: string, sortKey?: string): SimTable {
    const table: SimTable = { name, partitionKey, sortKey, items: new Map() };
    this.tables.set(name, table);
    return table;
  }

  requireTable(name: string | undefined): SimTable {
    const table = this.tables.get(name ?? "");
    if (!table) throw awsError("DynamoDB", "ResourceNotFoundException", "Requested resource not found");
    return table;
  }

  handlers(): OperationHandlers {
    return {
      PutItem: (input: PutItemCommandInput) => this.putItem(input),
      GetItem: (input: GetItemCommandInput) => this.getItem(input),
      UpdateItem: (input: UpdateItemCommandInput) => this.updateItem(input),
      DeleteItem: (input: DeleteItemCommandInput) => this.deleteItem(input),
    };
  }

  private keyOf(table: SimTable, source: Item | undefined, fromItem: boolean): string {
    const keyNames = [table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])];
    for (const name of keyNames) {
      if (source?.[name] === undefined) {
        throw validation(fromItem ? `One or more parameter values were invalid: Missing the key ${name} in the item` : "The provided key element does not match the schema");
      }
    }
    if (!fromItem && Object.keys(source ?? {}).length !== keyNames.length) throw validation("The provided key element does not match the schema");
    return JSON.stringify(keyNames.map((name) => source![name]));
  }

  private checkCondition(
    current: Item | undefined,
    input: { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue>; ReturnValuesOnConditionCheckFailure?: string },
  ): void {
    if (!input.ConditionExpression) return;
    const passes = withValidation(() =>
      evaluateCondition(input.ConditionExpression!, current, { names: input.ExpressionAttributeNames, values: input.ExpressionAttributeValues }),
    );
    if (!passes) {
      throw awsError(
        "DynamoDB",
        "ConditionalCheckFailedException",
        "The conditional request failed",
        input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && current ? { Item: structuredClone(current) } : {},
      );
    }
  }

  private putItem(input: PutItemCommandInput): Output<PutItemCommandOutput> {
    const table = this.requireTable(input.TableName);
    const key = this.keyOf(table, input.Item, true);
    const current = table.items.get(key);
    this.checkCondition(current, input);
    table.items.set(key, structuredClone(input.Item!));
    return { Attributes: input.ReturnValues === "ALL_OLD" && current ? structuredClone(current) : undefined };
  }

  private getItem(input: GetItemCommandInput): Output<GetItemCommandOutput> {
    const table = this.requireTable(input.TableName);
    const current = table.items.get(this.keyOf(table, input.Key, false));
    return { Item: current ? structuredClone(current) : undefined };
  }

  private updateItem(input: UpdateItemCommandInput): Output<UpdateItemCommandOutput> {
    const table = this.requireTable(input.TableName);
    const key = this.keyOf(table, input.Key, false);
    const current = table.items.get(key);
    this.checkCondition(current, input);
    const context = { names: input.ExpressionAttributeNames, values: input.ExpressionAttributeValues };
    const updated = withValidation(() => (input.UpdateExpression ? applyUpdate(input.UpdateExpression, current, context) : { ...(current ?? {}) }));
    // Key attributes come from Key and cannot be updated.
    Object.assign(updated, structuredClone(input.Key!));
    table.items.set(key, updated);
    const returnValues = input.ReturnValues ?? "NONE";
    const attributes = returnValues === "ALL_NEW" || returnValues === "UPDATED_NEW" ? updated : returnValues === "ALL_OLD" || returnValues === "UPDATED_OLD" ? current : undefined;
    return { Attributes: attributes ? structuredClone(attributes) : undefined };
  }

  private deleteItem(input: DeleteItemCommandInput): Output<DeleteItemCommandOutput> {
    const table = this.requireTable(input.TableName);
    const key = this.keyOf(table, input.Key, false);
    const current = table.items.get(key);
    this.checkCondition(current, input);
    table.items.delete(key);
    return { Attributes: input.ReturnValues === "ALL_OLD" && current ? structuredClone(current) : undefined };
  }

}

/** AttributeValue -> native JS value, like lib-dynamodb's default unmarshall (numbers as `number`). */
export function unmarshallValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.B !== undefined) return value.B;
  if (value.L !== undefined) return value.L.map(unmarshallValue);
  if (value.M !== undefined) return unmarshallItem(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.BS !== undefined) return new Set(value.BS);
  throw new Error(`Cannot unmarshall ${JSON.stringify(value)}`);
}

export function unmarshallItem(item: Item): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, unmarshallValue(value)]));
}
