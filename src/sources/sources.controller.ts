import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, ParseIntPipe, Post, Put, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Audited, NotAudited, RequiresScope } from '../access/access.module';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { SourcesResponseDto } from '../ingestion/dto/source.dto';
import {
  CreateSourceDto,
  SchemaCheckDto,
  SchemaCheckRequestDto,
  SchemaVersionDto,
  SchemaVersionsDto,
  SourceResourceDto,
  UpdateSourceDto,
} from './dto/sources.dto';
import { SourceState, SourcesService } from './sources.service';

export class SourcesQueryDto {
  @ApiPropertyOptional({
    enum: ['json', 'yaml'],
    description: 'yaml: the live registry as a sources.yaml document (settings as stored, archived sources left out)',
  })
  @IsOptional()
  @IsIn(['json', 'yaml'])
  format?: 'json' | 'yaml';
}

const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description:
    'The ETag of GET /sources/{name}: the change applies only over that state (412 otherwise). Without it, the change applies over the current state',
};

@ApiTags('sources')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('sources')
export class SourcesController {
  constructor(
    private readonly service: SourcesService,
    private readonly registry: SourcesRegistry,
  ) {}

  @Get()
  @RequiresScope('read:*')
  @ApiOperation({ summary: 'The configured sources: name, topic, schema, and what happens to an event that fails it' })
  @ApiExtraModels(SourcesResponseDto)
  @ApiOkResponse({
    content: {
      'application/json': { schema: { $ref: getSchemaPath(SourcesResponseDto) } },
      'application/yaml': {
        schema: {
          type: 'object',
          required: ['sources'],
          properties: {
            sources: { type: 'object', additionalProperties: { type: 'object' }, description: 'Each live source by name, as in config/sources.yaml' },
          },
        },
      },
    },
  })
  @ApiErrors(400, 503)
  async list(@Query() query: SourcesQueryDto, @Res({ passthrough: true }) res: ServerResponse): Promise<SourcesResponseDto | string> {
    if (query.format === 'yaml') {
      res.setHeader('Content-Type', 'application/yaml; charset=utf-8');
      return this.service.exportYaml();
    }
    return {
      sources: this.registry.list().map((source) => ({
        name: source.name,
        topic: source.topic,
        description: source.description,
        keyField: source.keyField,
        maxBodyBytes: source.maxBodyBytes,
        schema: source.schema,
        schemaHash: source.schemaHash,
        signatureScheme: source.signature?.scheme,
        onInvalid: source.onInvalid,
        deadLetterTopic: source.deadLetterTopic,
        bucket: source.bucket,
        bucketSeconds: source.bucketSeconds,
      })),
    };
  }

  @Post()
  @RequiresScope('admin')
  @Audited('source.create', { target: 'name' })
  @ApiOperation({ summary: 'Create a source (409 if the name exists, archived names included); every API process takes it within SOURCES_SYNC_SECONDS' })
  @ApiCreatedResponse({ type: SourceResourceDto })
  @ApiErrors(400, 409, 413, 415, 503, 504)
  async create(@Body() body: CreateSourceDto, @Res({ passthrough: true }) res: ServerResponse): Promise<SourceResourceDto> {
    return answer(await this.service.create(body), res);
  }

  @Get(':name')
  @RequiresScope('admin')
  @ApiOperation({ summary: 'A source, archived or not, with its ETag' })
  @ApiOkResponse({ type: SourceResourceDto })
  @ApiErrors(404, 503, 504)
  async get(@Param('name') name: string, @Res({ passthrough: true }) res: ServerResponse): Promise<SourceResourceDto> {
    return answer(await this.service.get(name), res);
  }

  @Put(':name')
  @RequiresScope('admin')
  @Audited('source.update', { target: 'name' })
  @ApiOperation({ summary: "Replace a source's settings; a changed schema must be compatible (409 naming each path) and becomes a new version" })
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({ type: SourceResourceDto })
  @ApiErrors(400, 404, 409, 410, 412, 413, 415, 503, 504)
  async update(
    @Param('name') name: string,
    @Body() body: UpdateSourceDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<SourceResourceDto> {
    return answer(await this.service.update(name, body, ifMatch), res);
  }

  @Delete(':name')
  @RequiresScope('admin')
  @Audited('source.archive', { target: 'name' })
  @ApiOperation({ summary: 'Archive a source: ingest answers 410, its stored records stay readable, its name is not reused' })
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({ type: SourceResourceDto })
  @ApiErrors(404, 410, 412, 503, 504)
  async archive(
    @Param('name') name: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<SourceResourceDto> {
    return answer(await this.service.archive(name, ifMatch), res);
  }

  @Get(':name/schemas')
  @RequiresScope('admin')
  @ApiOperation({ summary: "Every version of the source's schema, newest first" })
  @ApiOkResponse({ type: SchemaVersionsDto })
  @ApiErrors(404, 503, 504)
  schemas(@Param('name') name: string): Promise<SchemaVersionsDto> {
    return this.service.schemas(name);
  }

  @Get(':name/schemas/:version')
  @RequiresScope('admin')
  @ApiOperation({ summary: "One version of the source's schema" })
  @ApiOkResponse({ type: SchemaVersionDto })
  @ApiParam({ name: 'version', schema: { type: 'integer', minimum: 1, maximum: 2147483647 }, description: 'A schema version (GET /sources/{name}/schemas)' })
  @ApiErrors(400, 404, 503, 504)
  schema(@Param('name') name: string, @Param('version', ParseIntPipe) version: number): Promise<SchemaVersionDto> {
    return this.service.schema(name, version);
  }

  @Post(':name/schema-check')
  @HttpCode(200)
  @RequiresScope('admin')
  @NotAudited('a dry run: checks a candidate schema and changes nothing')
  @ApiOperation({
    summary: "Check a candidate schema: the compatibility verdict, and how many of the source's last 1000 stored events it would refuse",
  })
  @ApiOkResponse({ type: SchemaCheckDto })
  @ApiErrors(400, 404, 410, 413, 415, 502, 503, 504)
  schemaCheck(@Param('name') name: string, @Body() body: SchemaCheckRequestDto): Promise<SchemaCheckDto> {
    return this.service.schemaCheck(name, body.schema);
  }
}

function answer({ source, etag }: SourceState, res: ServerResponse): SourceResourceDto {
  res.setHeader('ETag', etag);
  return source;
}
