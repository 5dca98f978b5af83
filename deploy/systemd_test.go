package deploy

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// unitFile is a systemd unit: each section's settings, in order (a setting may repeat).
type unitFile map[string][]setting

type setting struct {
	line       int
	key, value string
}

// parseUnit reads a systemd unit file: [Section] headers, Key=Value lines, # and ;
// comments, backslash continuations.
func parseUnit(text string) (unitFile, error) {
	unit := unitFile{}
	section := ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: %q is neither a [Section] nor Key=Value in one", start, line)
		}
		unit[section] = append(unit[section], setting{start, strings.TrimSpace(key), strings.TrimSpace(value)})
	}
	return unit, nil
}

// last is a setting's value in a section, the last one written winning; "" when unset.
func (u unitFile) last(section, key string) string {
	value := ""
	for _, s := range u[section] {
		if s.key == key {
			value = s.value
		}
	}
	return value
}

// envAssignment is a line of an environment file: NAME=value, or "#NAME=value", a
// suggestion left commented out.
var envAssignment = regexp.MustCompile(`^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// parseEnvFile reads an EnvironmentFile: the values set, and every variable named, set or
// suggested in a comment.
func parseEnvFile(name, text string) (map[string]string, []namedVariable) {
	values := map[string]string{}
	var named []namedVariable
	for i, line := range strings.Split(text, "\n") {
		m := envAssignment.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		named = append(named, namedVariable{m[2], fmt.Sprintf("%s line %d", name, i+1)})
		if m[1] == "" {
			values[m[2]] = strings.Trim(m[3], `"'`)
		}
	}
	return values, named
}

// unitVariables are the variables a unit sets itself (Environment=NAME=value ...).
func unitVariables(name string, unit unitFile) []namedVariable {
	var named []namedVariable
	for _, s := range unit["Service"] {
		if s.key != "Environment" {
			continue
		}
		for _, assignment := range strings.Fields(s.value) {
			v, _, _ := strings.Cut(strings.Trim(assignment, `"`), "=")
			named = append(named, namedVariable{v, fmt.Sprintf("%s line %d", name, s.line)})
		}
	}
	return named
}

// systemdDuration reads a systemd time span such as 30s, 1min 30s or 90 (seconds).
func systemdDuration(value string) (time.Duration, error) {
	if n, err := strconv.Atoi(value); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	for _, part := range strings.Fields(value) {
		part = strings.NewReplacer("min", "m", "sec", "s").Replace(part)
		d, err := time.ParseDuration(part)
		if err != nil {
			return 0, fmt.Errorf("%q is not a time span", value)
		}
		total += d
	}
	return total, nil
}

// checkSystemdUnit checks the unit against its environment file and the server: it runs
// serve from the environment file shipped beside it, as a user other than root, stops with
// SIGTERM and waits long enough for the drain delay and the shutdown, holds enough open
// files for its sockets, and does not forbid the executable memory PDFium needs.
func checkSystemdUnit(unit unitFile, envFileName string, env map[string]string, drainDefault string, shutdown time.Duration) error {
	var errs []error
	execStart := strings.Fields(unit.last("Service", "ExecStart"))
	if len(execStart) < 2 || !strings.HasPrefix(execStart[0], "/") || execStart[1] != "serve" {
		errs = append(errs, fmt.Errorf("the unit's ExecStart %q does not run an absolute path's serve", strings.Join(execStart, " ")))
	}
	if user := unit.last("Service", "User"); user == "" || user == "root" || user == "0" {
		errs = append(errs, fmt.Errorf("the unit runs as %q: give it a User of its own", user))
	}
	readsEnvFile := false
	for _, s := range unit["Service"] {
		if s.key == "EnvironmentFile" && path.Base(strings.TrimPrefix(s.value, "-")) == envFileName {
			readsEnvFile = true
		}
	}
	if !readsEnvFile {
		errs = append(errs, fmt.Errorf("the unit has no EnvironmentFile named %s", envFileName))
	}
	if signal := unit.last("Service", "KillSignal"); signal != "" && signal != "SIGTERM" && signal != "TERM" {
		errs = append(errs, fmt.Errorf("the unit stops serve with %s, but serve drains on SIGTERM", signal))
	}
	drain, err := drainDelay(env, drainDefault)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envFileName, err))
	}
	stopTimeout, err := systemdDuration(unit.last("Service", "TimeoutStopSec"))
	switch {
	case unit.last("Service", "TimeoutStopSec") == "":
		errs = append(errs, errors.New("the unit sets no TimeoutStopSec: systemd's default (90 s, or what the system sets) is not checked against the drain"))
	case err != nil:
		errs = append(errs, fmt.Errorf("the unit's TimeoutStopSec: %w", err))
	case stopTimeout < drain+shutdown+stopMargin:
		errs = append(errs, fmt.Errorf("the unit's TimeoutStopSec %s is less than the drain delay %s, the shutdown timeout %s and %s for the rest to close: systemd would kill serve while it drains",
			stopTimeout, drain, shutdown, stopMargin))
	}
	if unit.last("Service", "LimitNOFILE") == "" {
		errs = append(errs, errors.New("the unit sets no LimitNOFILE: each WebSocket is an open file, and the usual hard limit holds a few thousand"))
	}
	if v := unit.last("Service", "MemoryDenyWriteExecute"); v == "yes" || v == "true" || v == "1" {
		errs = append(errs, errors.New("the unit sets MemoryDenyWriteExecute, which stops PDFium's WebAssembly compiler: letter previews would fail"))
	}
	return errors.Join(errs...)
}

// drainDelay is NOTIFYQL_DRAIN_DELAY as env sets it, or the README's default.
func drainDelay(env map[string]string, readmeDefault string) (time.Duration, error) {
	value := env["NOTIFYQL_DRAIN_DELAY"]
	if value == "" {
		value = readmeDefault
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("NOTIFYQL_DRAIN_DELAY %q is not a duration", value)
	}
	return d, nil
}
