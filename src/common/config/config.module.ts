import { Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG, AppConfig, toAppConfig } from './app-config';
import { validateEnvironment } from './env.schema';

let loaded: AppConfig | undefined;

/** The validated configuration of this process's environment; throws a message naming each bad variable. */
export function appConfigFromEnv(): AppConfig {
  loaded ??= toAppConfig(validateEnvironment(process.env), process.env);
  return loaded;
}

/** Reads and validates the environment once at start-up and provides the typed AppConfig. */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      ignoreEnvFile: true,
      cache: true,
      load: [() => ({ app: appConfigFromEnv() })],
    }),
  ],
  providers: [{ provide: APP_CONFIG, inject: [ConfigService], useFactory: (config: ConfigService) => config.getOrThrow<AppConfig>('app') }],
  exports: [APP_CONFIG],
})
export class AppConfigModule {}
