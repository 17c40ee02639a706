import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { Audited } from './audited.decorator';
import { CreatedKeyDto, CreateKeyDto, KeyDto, KeysDto, RotateKeyDto, SelfKeyDto } from './dto/keys.dto';
import { KeysService } from './keys.service';
import { principalOf } from './principal';
import { RequiresScope } from './requires-scope.decorator';
import { ANY_KEY } from './scopes';

const KeyIdParam = () => ApiParam({ name: 'id', example: '3f9a0c1b2d4e', description: 'A key id from GET /keys (the part of the key after pk_)' });

@ApiTags('access')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  @RequiresScope('admin')
  @Audited('key.create', { target: 'id' })
  @ApiOperation({
    summary: 'Create a scoped key; its secret is in the answer, this once',
    description:
      'Only a hash of the secret is stored: a lost key cannot be shown again, only rotated. The key works on every API process ' +
      'within KEYS_SYNC_SECONDS (at once on the one that answered). An unknown scope is 400 naming scopes.',
  })
  @ApiCreatedResponse({ type: CreatedKeyDto })
  @ApiErrors(400, 413, 415, 503, 504)
  create(@Body() body: CreateKeyDto): Promise<CreatedKeyDto> {
    return this.keys.create(body);
  }

  @Get()
  @RequiresScope('admin')
  @ApiOperation({ summary: 'Every key, revoked ones included: name, scopes, prefix, dates; never a secret' })
  @ApiOkResponse({ type: KeysDto })
  @ApiErrors(502, 503, 504)
  async list(): Promise<KeysDto> {
    return { keys: await this.keys.list() };
  }

  // Declared before GET :id, which would otherwise take `self` for a key id.
  @Get('self')
  @RequiresScope(ANY_KEY)
  @ApiOperation({
    summary: 'The key of this request: its id, name and scopes (any valid key may ask)',
    description: 'What a client such as the web console reads to offer only what the key may do.',
  })
  @ApiOkResponse({ type: SelfKeyDto })
  @ApiErrors(503)
  self(@Req() req: object): SelfKeyDto {
    // The guard always sets the principal before a route that needs a key runs.
    const principal = principalOf(req)!;
    return { id: principal.keyId ?? principal.actor, name: principal.name, scopes: [...principal.scopes].sort() };
  }

  @Get(':id')
  @RequiresScope('admin')
  @KeyIdParam()
  @ApiOkResponse({ type: KeyDto })
  @ApiErrors(404, 502, 503, 504)
  get(@Param('id') id: string): Promise<KeyDto> {
    return this.keys.get(id);
  }

  @Post(':id/rotate')
  @RequiresScope('admin')
  @Audited('key.rotate', { target: 'id' })
  @KeyIdParam()
  @HttpCode(200)
  @ApiOperation({
    summary: 'A new secret for the same key; the old one keeps working for graceSeconds, then only the new one',
    description: 'A revoked key cannot be rotated (409); neither can a key another rotation changed meanwhile (409: read it again and retry).',
  })
  @ApiOkResponse({ type: CreatedKeyDto })
  @ApiErrors(400, 404, 409, 413, 415, 503, 504)
  rotate(@Param('id') id: string, @Body() body: RotateKeyDto): Promise<CreatedKeyDto> {
    return this.keys.rotate(id, body.graceSeconds);
  }

  @Delete(':id')
  @RequiresScope('admin')
  @Audited('key.revoke', { target: 'id' })
  @KeyIdParam()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke a key on every API process, within KEYS_SYNC_SECONDS',
    description: 'The key stays listed, with revokedAt. Revoking it again changes nothing (204).',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors(404, 503, 504)
  revoke(@Param('id') id: string): Promise<void> {
    return this.keys.revoke(id);
  }
}
