import { Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG, AppConfig, toAppConfig } from './app-config';
import { validateEnvironment } from './env.schema';

/** Reads and validates the environment once at start-up and provides the typed AppConfig. */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      ignoreEnvFile: true,
      cache: true,
      load: [() => ({ app: toAppConfig(validateEnvironment(process.env)) })],
    }),
  ],
  providers: [
    { provide: APP_CONFIG, inject: [ConfigService], useFactory: (config: ConfigService) => config.getOrThrow<AppConfig>('app') },
  ],
  exports: [APP_CONFIG],
})
export class AppConfigModule {}
