package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// sentinelVariablePrefix starts the names of the variables that name a Sentinel-managed
// primary one setting at a time, instead of REDIS_URL.
const sentinelVariablePrefix = "NOTIFYQL_REDIS_SENTINEL_"

// sentinelURLFromVariables reads the NOTIFYQL_REDIS_SENTINEL_* variables and returns the
// redis-sentinel:// URL they amount to, or "" when none is set. They say what that URL
// says, for deployments that keep each setting, and each password, in a variable (or a
// Secret's key) of its own:
//
//	NOTIFYQL_REDIS_SENTINEL_ADDRS            the hosts: Sentinels, host[:port],…
//	NOTIFYQL_REDIS_SENTINEL_MASTER_NAME      ?master_name=
//	NOTIFYQL_REDIS_SENTINEL_USERNAME         ?sentinel_username=
//	NOTIFYQL_REDIS_SENTINEL_PASSWORD         ?sentinel_password=
//	NOTIFYQL_REDIS_SENTINEL_MASTER_USERNAME  the user before the hosts (the data nodes')
//	NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD  the password before the hosts
//	NOTIFYQL_REDIS_SENTINEL_DB               /db
//	NOTIFYQL_REDIS_SENTINEL_TLS              true for rediss-sentinel://
//
// Going through the URL keeps one reading of a Sentinel deployment (redisOptions), so the
// two forms cannot drift apart; go-redis's other URL options are the URL form's alone.
// REDIS_URL and these variables together are refused: neither would say which Redis is
// meant. The errors never repeat a password.
func sentinelURLFromVariables(getenv func(string) string) (string, error) {
	var addrs, masterName, sentinelUser, sentinelPassword, masterUser, masterPassword, db, useTLS string
	var set []string
	for _, v := range []struct {
		name string
		dest *string
	}{
		{"NOTIFYQL_REDIS_SENTINEL_ADDRS", &addrs},
		{"NOTIFYQL_REDIS_SENTINEL_MASTER_NAME", &masterName},
		{"NOTIFYQL_REDIS_SENTINEL_USERNAME", &sentinelUser},
		{"NOTIFYQL_REDIS_SENTINEL_PASSWORD", &sentinelPassword},
		{"NOTIFYQL_REDIS_SENTINEL_MASTER_USERNAME", &masterUser},
		{"NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD", &masterPassword},
		{"NOTIFYQL_REDIS_SENTINEL_DB", &db},
		{"NOTIFYQL_REDIS_SENTINEL_TLS", &useTLS},
	} {
		*v.dest = getenv(v.name)
		if *v.dest != "" {
			set = append(set, v.name)
		}
	}
	if len(set) == 0 {
		return "", nil
	}
	if getenv("REDIS_URL") != "" {
		return "", fmt.Errorf("REDIS_URL and %s are both set: name Redis by one or the other (unset REDIS_URL, or the %s* variables)",
			strings.Join(set, ", "), sentinelVariablePrefix)
	}
	if addrs == "" {
		return "", fmt.Errorf("NOTIFYQL_REDIS_SENTINEL_ADDRS is required with %s: the Sentinels' addresses, host[:port],… (port %s unless given)",
			strings.Join(set, ", "), defaultSentinelPort)
	}
	hosts := strings.Split(addrs, ",")
	for i := range hosts {
		hosts[i] = strings.TrimSpace(hosts[i])
	}
	sentinels, err := hostList(strings.Join(hosts, ","), defaultSentinelPort)
	if err != nil {
		return "", fmt.Errorf("NOTIFYQL_REDIS_SENTINEL_ADDRS must list the Sentinels as host[:port],…: %w", err)
	}
	// A URL's host cannot list IPv6 literals (url.Parse reads one bracketed host only),
	// and these variables are read as a URL.
	if len(sentinels) > 1 && strings.Contains(addrs, "[") {
		return "", errors.New("NOTIFYQL_REDIS_SENTINEL_ADDRS can hold an IPv6 address only alone: name the Sentinels by host name, or give one")
	}
	if masterName == "" {
		return "", errors.New("NOTIFYQL_REDIS_SENTINEL_MASTER_NAME is required with NOTIFYQL_REDIS_SENTINEL_ADDRS: the name the Sentinels monitor the primary under")
	}
	if db == "" {
		db = "0"
	}
	if n, err := strconv.Atoi(db); err != nil || n < 0 {
		return "", fmt.Errorf("NOTIFYQL_REDIS_SENTINEL_DB must be a database number, 0 or more; got %q", db)
	}
	scheme := sentinelScheme
	if useTLS != "" {
		on, err := strconv.ParseBool(useTLS)
		if err != nil {
			return "", fmt.Errorf("NOTIFYQL_REDIS_SENTINEL_TLS must be true or false; got %q", useTLS)
		}
		if on {
			scheme = sentinelTLSScheme
		}
	}
	q := url.Values{"master_name": {masterName}}
	if sentinelPassword != "" {
		q.Set("sentinel_password", sentinelPassword)
	}
	if sentinelUser != "" {
		q.Set("sentinel_username", sentinelUser)
	}
	u := &url.URL{Scheme: scheme, Host: strings.Join(sentinels, ","), Path: "/" + db, RawQuery: q.Encode()}
	switch {
	case masterPassword != "":
		u.User = url.UserPassword(masterUser, masterPassword)
	case masterUser != "":
		u.User = url.User(masterUser)
	}
	// The checks above cover what the URL's reading refuses; this one stays in case they
	// drift apart, and says which form was read.
	if _, err := parseRedisURL(u.String()); err != nil {
		return "", fmt.Errorf("%s*: %w", sentinelVariablePrefix, err)
	}
	return u.String(), nil
}
