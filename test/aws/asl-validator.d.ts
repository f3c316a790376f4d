/** asl-validator 4 ships no type declarations: the part of its API the tests use. */
declare module "asl-validator" {
  interface AslValidatorOptions {
    /** Check JSONPath expressions (default true). */
    checkPaths?: boolean;
    /** Check that Task Resources are ARNs (default true). */
    checkArn?: boolean;
  }
  interface AslValidationResult {
    isValid: boolean;
    errors: Record<string, unknown>[];
    errorsText(separator?: string): string;
  }
  function aslValidator(definition: object, options?: AslValidatorOptions): AslValidationResult;
  export = aslValidator;
}
