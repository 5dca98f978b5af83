package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"notifyql"
)

// bench-compare's page and single notification (bench/compare/operations.go): the
// requests whose throughput issue 17 compares with PostGraphile's.
const (
	benchComparePageQuery = `query Page($id: ID!) {
  service(id: $id) {
    notifications(type: EMAIL, first: 50) {
      edges { node { id type recipient status createdAt template { name version } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`
	benchCompareDetailQuery = `query Notification($id: ID!) {
  notification(id: $id) { id type recipient status createdAt template { name version } }
}`
)

// BenchmarkComparePageParallel and BenchmarkCompareDetailParallel serve bench-compare's
// requests from several goroutines at once, in process, for CPU and allocation profiles
// under concurrency (`-cpuprofile`, `-memprofile`). Their throughput is the machine's:
// what compares between runs is the CPU and the allocations a request.
func BenchmarkComparePageParallel(b *testing.B) {
	env := newBenchEnv(b, notifyql.ViewActivity)
	benchmarkParallel(b, env, benchComparePageQuery, map[string]any{"id": env.serviceID}, `"hasNextPage":true`)
}

func BenchmarkCompareDetailParallel(b *testing.B) {
	env := newBenchEnv(b, notifyql.ViewActivity)
	var id string
	if err := env.pool.QueryRow(b.Context(), `SELECT id FROM notifications
		WHERE service_id = $1 AND notification_type = 'email' AND key_type <> 'test'
		ORDER BY created_at DESC, id DESC LIMIT 1`, env.serviceID).Scan(&id); err != nil {
		b.Fatalf("find the newest email: %v", err)
	}
	benchmarkParallel(b, env, benchCompareDetailQuery, map[string]any{"id": id}, `"template":{"name"`)
}

// benchmarkParallel serves query from 8 goroutines a processor, each answer checked for
// want, and reports the process's CPU a request.
func benchmarkParallel(b *testing.B, env *benchEnv, query string, variables map[string]any, want string) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		b.Fatal(err)
	}
	for range benchWarmupRequests {
		if _, _, err := env.serve(body, func(benchData) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	cost := measureRequestCost()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+env.token)
			rec := httptest.NewRecorder()
			env.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
				b.Errorf("status %d: %.300s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	cost.report(b, b.N)
}
