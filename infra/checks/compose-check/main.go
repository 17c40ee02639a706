// compose-check loads a Compose project the way `docker compose` does, with compose-go, the library
// the Compose CLI is built on: the same project options in the same order (environment, env files,
// .env of the project directory, profiles), interpolation, the Compose Specification schema, overrides
// and `extends`, and the consistency checks (depends_on, volumes, networks of the enabled services).
//
//	compose-check -f infra/docker-compose.yml [-f override.yml] [--env-file FILE] [--profile NAME] [--json FILE]
//
// Prints one line, "ok <files> [profiles]: N services: a, b, ...", or "FAIL <files> [profiles]" and the
// loader's error below it, and exits 1. --json writes the resolved project, as `docker compose config --format
// json` would print it, for checks that read what Compose would run rather than the file as written.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, envFiles, profiles list
	flag.Var(&files, "f", "a compose file; repeat for overrides, applied in order (docker compose -f)")
	flag.Var(&envFiles, "env-file", "an environment file for interpolation; repeatable (docker compose --env-file)")
	flag.Var(&profiles, "profile", "a profile to enable; repeatable (docker compose --profile)")
	projectDir := flag.String("project-directory", "", "the project directory (default: the first file's directory)")
	jsonOut := flag.String("json", "", "write the resolved project as JSON to this file")
	flag.Parse()
	if len(files) == 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	what := describe(files, profiles)
	project, err := load(files, envFiles, profiles, *projectDir)
	if err == nil && *jsonOut != "" {
		err = writeJSON(project, *jsonOut)
	}
	if err != nil {
		fmt.Printf("FAIL %s\n", what)
		for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
			fmt.Printf("  %s\n", line)
		}
		os.Exit(1)
	}
	names := project.ServiceNames()
	slices.Sort(names)
	fmt.Printf("ok %s: %d services: %s\n", what, len(names), strings.Join(names, ", "))
}

// load mirrors the Compose CLI's project options (docker/compose pkg/compose/loader.go), without the
// remote (git, OCI) resource loaders: interpolation, schema validation, normalization and the
// consistency checks are compose-go's defaults, left on.
func load(files, envFiles, profiles []string, projectDir string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(projectDir),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(profiles...),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return nil, err
	}
	if project.Name == "" {
		return nil, errors.New("project name can't be empty")
	}
	return project, nil
}

func writeJSON(project *types.Project, file string) error {
	data, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

func describe(files, profiles []string) string {
	base := make([]string, len(files))
	for i, f := range files {
		base[i] = filepath.Base(f)
	}
	out := strings.Join(base, " + ")
	if len(profiles) > 0 {
		out += " --profile " + strings.Join(profiles, ",")
	}
	return out
}
