import { Logger, Module } from '@nestjs/common';
import { ServeStaticModule, ServeStaticModuleOptions } from '@nestjs/serve-static';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { setConsoleHeaders } from './console-static';

/**
 * How the console's files are served: public (its data calls carry the API key), at /, after every
 * route of the API, so no API path is ever shadowed and an unknown one still answers the API's 404.
 * The console routes with the URL's fragment (/#/stream), so no path needs a fallback to index.html.
 */
export function consoleServing(config: AppConfig, logger = new Logger('Console')): ServeStaticModuleOptions[] {
  const dir = config.console.dir;
  if (!dir) return [];
  if (!existsSync(join(dir, 'index.html'))) {
    logger.warn(`no web console at ${dir} (build it with "npm run build:web", or set CONSOLE_DIR); / answers 404`);
    return [];
  }
  return [
    {
      rootPath: dir,
      // The only path answered with index.html besides the files themselves (express.static answers / first).
      renderPath: '/',
      serveStaticOptions: { index: 'index.html', redirect: false, fallthrough: true, dotfiles: 'ignore', etag: true, setHeaders: setConsoleHeaders },
    },
  ];
}

/** The web console (apps/web), built into CONSOLE_DIR, served as static files. */
@Module({
  imports: [ServeStaticModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => consoleServing(config) })],
})
export class ConsoleModule {}
