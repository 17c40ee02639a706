import { ValidationError, ValidationPipe } from '@nestjs/common';
import { BadRequestError } from '../errors/errors';

/** One failing field of a request: its path in the body or query (`target.args`) and what is wrong. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Every constraint that failed, nested ones named by their full path (`target.kind must be one of ...`). */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      // class-validator starts a message with the property's own name; name its full path instead.
      message: parent && message.startsWith(`${error.property} `) ? `${field}${message.slice(error.property.length)}` : message,
    }));
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

/**
 * The global pipe: DTOs validated and transformed, unknown properties refused, and every failure a
 * 400 whose message lists each problem and whose details name each field.
 */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => {
      const problems = fieldProblems(errors);
      return new BadRequestError(problems.map((p) => p.message).join('; '), problems);
    },
  });
}
