package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// instruction is one Dockerfile instruction, its continuation lines joined.
type instruction struct {
	line    int
	command string // upper case: FROM, RUN, COPY ...
	args    string
}

// stage is a FROM and the instructions after it.
type stage struct {
	from, name   string
	line         int
	instructions []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows the syntax the checks need:
// comments, line continuations, FROM image [AS name].
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue // a comment inside a continued instruction
			}
			line = strings.TrimSuffix(line, `\`) + " " + next
		}
		command, args, _ := strings.Cut(line, " ")
		in := instruction{line: start, command: strings.ToUpper(command), args: strings.TrimSpace(args)}
		if in.command == "FROM" {
			fields := strings.Fields(in.args)
			fields = withoutFlags(fields)
			if len(fields) == 0 {
				return nil, fmt.Errorf("line %d: FROM names no image", start)
			}
			s := stage{from: fields[0], line: start}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.command == "ARG" {
				continue // an ARG before the first FROM
			}
			return nil, fmt.Errorf("line %d: %s before any FROM", start, in.command)
		}
		last := &stages[len(stages)-1]
		last.instructions = append(last.instructions, in)
	}
	if len(stages) == 0 {
		return nil, errors.New("the Dockerfile has no FROM")
	}
	return stages, nil
}

// withoutFlags drops --flag=value words, such as FROM's --platform.
func withoutFlags(fields []string) []string {
	var kept []string
	for _, f := range fields {
		if !strings.HasPrefix(f, "--") {
			kept = append(kept, f)
		}
	}
	return kept
}

// distrolessStatic is the family of final bases taken: distroless's static images, which
// hold CA certificates and a passwd file and nothing to run, no shell either.
var distrolessStatic = regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)

var (
	// cgoDisabled is CGO_ENABLED=0 in an ENV or before a command.
	cgoDisabled = regexp.MustCompile(`\bCGO_ENABLED=0(\s|$)`)
	// remoteSource is a source ADD would fetch over the network.
	remoteSource = regexp.MustCompile(`(?i)\b(https?|ftp|git)://|\bgit@`)
)

// goDirective reads go.mod's go directive, such as 1.26.0.
func goDirective(gomod string) (string, error) {
	for _, line := range strings.Split(gomod, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("go.mod has no go directive")
}

// imageUser is the final stage's user: the uid of its last USER, which must be a number
// (Kubernetes' runAsNonRoot can check only a number) other than 0.
func imageUser(stages []stage) (int, error) {
	final := stages[len(stages)-1]
	user := ""
	for _, in := range final.instructions {
		if in.command == "USER" {
			user = in.args
		}
	}
	if user == "" {
		return 0, errors.New("Dockerfile: the final stage has no USER, so the server would run as root")
	}
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	if err != nil {
		return 0, fmt.Errorf("Dockerfile: USER %s is not a numeric uid, which Kubernetes' runAsNonRoot needs to verify it", user)
	}
	if n == 0 {
		return 0, fmt.Errorf("Dockerfile: USER %s is root", user)
	}
	return n, nil
}

// execForm parses an instruction written as a JSON array (exec form): run as given, with
// no shell.
func execForm(in instruction) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("Dockerfile line %d: %s %s is in shell form, which needs a shell the image does not have: write it as a JSON array", in.line, in.command, in.args)
	}
	return argv, nil
}

// checkDockerfile lints the image's Dockerfile: a multi-stage build of a static binary
// (CGO_ENABLED=0) with go.mod's Go, a final stage on a pinned distroless static base that
// runs it as a non-root user, in exec form, with nothing that needs a shell, and no file
// fetched from a URL. apiPort is the port the server listens on by default, which it must
// EXPOSE.
func checkDockerfile(stages []stage, gomod string, apiPort int) error {
	var errs []error
	if len(stages) < 2 {
		return fmt.Errorf("Dockerfile: want a multi-stage build (a build stage and a run stage), found %d stage", len(stages))
	}
	goVersion, err := goDirective(gomod)
	if err != nil {
		errs = append(errs, err)
	}
	built := false
	for _, s := range stages[:len(stages)-1] {
		cgoOff := false
		for _, in := range s.instructions {
			if in.command == "ENV" && cgoDisabled.MatchString(in.args) {
				cgoOff = true
			}
			if in.command != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			built = true
			before, _, _ := strings.Cut(in.args, "go build")
			if !cgoOff && !cgoDisabled.MatchString(before) {
				errs = append(errs, fmt.Errorf("Dockerfile line %d: go build without CGO_ENABLED=0: the binary would need the C library the run stage lacks", in.line))
			}
		}
		if image, tag, ok := strings.Cut(s.from, ":"); ok && image == "golang" && goVersion != "" {
			major, minor := goVersion, ""
			if parts := strings.Split(goVersion, "."); len(parts) >= 2 {
				major, minor = parts[0], parts[1]
			}
			want := major + "." + minor
			if tag != want && !strings.HasPrefix(tag, want+".") && !strings.HasPrefix(tag, want+"-") {
				errs = append(errs, fmt.Errorf("Dockerfile line %d: builds with golang:%s, but go.mod asks for Go %s", s.line, tag, goVersion))
			}
		}
	}
	if !built {
		errs = append(errs, errors.New("Dockerfile: no build stage runs go build"))
	}
	for _, s := range stages {
		for _, in := range s.instructions {
			if in.command == "ADD" && remoteSource.MatchString(in.args) {
				errs = append(errs, fmt.Errorf("Dockerfile line %d: ADD of a URL fetches unchecked bytes at build time: download in a build stage with a checksum instead", in.line))
			}
		}
	}

	final := stages[len(stages)-1]
	if !distrolessStatic.MatchString(final.from) {
		errs = append(errs, fmt.Errorf("Dockerfile line %d: the final stage is FROM %s, not a distroless static base", final.line, final.from))
	} else if _, tag, _ := strings.Cut(strings.TrimPrefix(final.from, "gcr.io/"), ":"); !strings.Contains(final.from, "@sha256:") && (tag == "" || tag == "latest") {
		errs = append(errs, fmt.Errorf("Dockerfile line %d: FROM %s is not pinned by a tag or digest", final.line, final.from))
	}
	if _, err := imageUser(stages); err != nil {
		errs = append(errs, err)
	}
	var entrypoint []string
	exposed := false
	copied := map[string]bool{}
	for _, in := range final.instructions {
		switch in.command {
		case "RUN":
			errs = append(errs, fmt.Errorf("Dockerfile line %d: RUN in the final stage needs a shell, which the run image must not have", in.line))
		case "ENTRYPOINT":
			argv, err := execForm(in)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			entrypoint = argv
		case "CMD":
			if _, err := execForm(in); err != nil {
				errs = append(errs, err)
			}
		case "HEALTHCHECK":
			if rest, ok := strings.CutPrefix(in.args, "CMD "); ok && !strings.HasPrefix(strings.TrimSpace(rest), "[") {
				errs = append(errs, fmt.Errorf("Dockerfile line %d: HEALTHCHECK in shell form needs a shell", in.line))
			}
		case "COPY":
			fields := strings.Fields(in.args)
			if len(fields) >= 3 && strings.HasPrefix(fields[0], "--from=") {
				copied[fields[len(fields)-1]] = true
			}
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				port, _, _ := strings.Cut(p, "/")
				if n, err := strconv.Atoi(port); err == nil && n == apiPort {
					exposed = true
				}
			}
		}
	}
	switch {
	case entrypoint == nil:
		errs = append(errs, errors.New("Dockerfile: the final stage has no ENTRYPOINT in exec form"))
	case !copied[entrypoint[0]]:
		errs = append(errs, fmt.Errorf("Dockerfile: ENTRYPOINT runs %s, which no COPY --from a build stage puts there", entrypoint[0]))
	}
	if !exposed {
		errs = append(errs, fmt.Errorf("Dockerfile: the final stage does not EXPOSE %d, the port the server listens on", apiPort))
	}
	return errors.Join(errs...)
}

// dockerfileVariables are the variables the final stage sets with ENV: what the server
// reads at run time (a build stage's ENV stays in the build).
func dockerfileVariables(stages []stage) []namedVariable {
	var named []namedVariable
	for _, in := range stages[len(stages)-1].instructions {
		if in.command != "ENV" {
			continue
		}
		fields := strings.Fields(in.args)
		if len(fields) == 2 && !strings.Contains(fields[0], "=") {
			fields = fields[:1] // ENV NAME value
		}
		for _, f := range fields {
			name, _, _ := strings.Cut(f, "=")
			if variableName.MatchString(name) {
				named = append(named, namedVariable{name, fmt.Sprintf("Dockerfile line %d", in.line)})
			}
		}
	}
	return named
}
