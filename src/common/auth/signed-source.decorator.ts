import { SetMetadata } from '@nestjs/common';

export const SIGNED_SOURCE_PARAM = 'signedSourceParam';

/**
 * Marks a route whose source, named by the route parameter `param`, may be signed: a request for a
 * signed source needs no API key, because a webhook sender cannot send ours. The route's service
 * checks the signature instead, always (see IngestionService). An unsigned or unknown source still
 * needs the key.
 */
export const SignatureReplacesApiKey = (param = 'source') => SetMetadata(SIGNED_SOURCE_PARAM, param);
