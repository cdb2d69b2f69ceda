// Command coldstartkit measures a function's start-up: the time from
// exec to the Lambda runtime's first GET /2018-06-01/runtime/invocation/next
// call, against a fake Runtime API on loopback, compared with an
// aws-lambda-go hello world (./hello) built the same way. Binaries are
// built as scripts/build builds them (CGO off, lambda.norpc, trimmed,
// stripped) but for the host's OS and architecture. Each binary runs
// -runs times, interleaved, after one unmeasured run (page cache); the
// report gives medians and their ratio to the hello world's, and the
// process CPU time of start-up (which Lambda stretches below 1769 MB).
// ./scripts/coldstart runs it for every functions/<group>.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
)

func main() {
	runs := flag.Int("runs", 21, "measured runs per binary")
	addr := flag.String("addr", "127.0.0.1:0", "listen address of the fake Runtime API")
	flag.Parse()
	groups := flag.Args()
	if len(groups) == 0 {
		entries, err := os.ReadDir("functions")
		if err != nil {
			fail(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				groups = append(groups, e.Name())
			}
		}
	}
	if err := run(groups, *runs, *addr); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart:", err)
	os.Exit(1)
}

// binary is one built function.
type binary struct {
	name, path string
	size       int64
	env        []string
	wall, cpu  []time.Duration
}

func run(groups []string, runs int, addr string) error {
	dir, err := os.MkdirTemp("", "keyturn-coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rt, err := newRuntimeAPI(addr)
	if err != nil {
		return err
	}
	defer rt.close()

	bins := []*binary{{name: "hello world (aws-lambda-go)", path: "./scripts/coldstartkit/hello"}}
	for _, g := range groups {
		if _, err := os.Stat(filepath.Join("functions", g, "main.go")); err != nil {
			return fmt.Errorf("no functions/%s/main.go", g)
		}
		bins = append(bins, &binary{name: g, path: "./functions/" + g})
	}
	for _, b := range bins {
		out := filepath.Join(dir, strings.ReplaceAll(filepath.Base(b.path), " ", "_"), "bootstrap")
		if err := build(b.path, out); err != nil {
			return err
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		b.path, b.size = out, st.Size()
		b.env = lambdaEnv(rt.addr, filepath.Base(filepath.Dir(out)), filepath.Dir(out), dir)
	}
	for i := -1; i < runs; i++ {
		for _, b := range bins {
			wall, cpu, err := startOnce(b, rt)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			if i >= 0 {
				b.wall = append(b.wall, wall)
				b.cpu = append(b.cpu, cpu)
			}
		}
	}
	ref := median(bins[0].wall)
	fmt.Printf("exec -> first runtime/invocation/next, %d runs each, %s/%s, %s\n\n", runs, runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("%-28s %9s %11s %11s %12s %8s\n", "binary", "size MB", "median ms", "p90 ms", "CPU ms (med)", "ratio")
	for _, b := range bins {
		fmt.Printf("%-28s %9.1f %11.2f %11.2f %12.2f %7.2fx\n", b.name, float64(b.size)/(1<<20), ms(median(b.wall)), ms(pct(b.wall, 90)),
			ms(median(b.cpu)), float64(median(b.wall))/float64(ref))
	}
	return nil
}

// build compiles pkg like scripts/build, for the host.
func build(pkg, out string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	return nil
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function
// plus the variables infra sets (placeholders; nothing is called at
// start-up). HOME is an empty directory: no shared AWS config files.
func lambdaEnv(runtimeAPI, group, taskRoot, dir string) []string {
	home := filepath.Join(dir, "home")
	_ = os.MkdirAll(home, 0o755)
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI, "_HANDLER=bootstrap", "LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=keyturn-" + group, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE", "AWS_SECRET_ACCESS_KEY=example", "AWS_SESSION_TOKEN=example",
		"TZ=:UTC", "LANG=en_US.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
		config.EnvTable + "=keyturn-Table", config.EnvSigningMode + "=" + config.SigningEnvelope,
		config.EnvKMSKeyID + "=arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000",
		config.EnvLogLevel + "=info", config.EnvPublicURL + "=https://example.execute-api.us-east-1.amazonaws.com",
	}
	if g, ok := deploy.Lookup(group); ok && g.Admin {
		env = append(env, config.EnvAdminSecretHash+"="+strings.Repeat("ab", 32))
	}
	return env
}

// startOnce starts b, waits for its first next call and stops it.
func startOnce(b *binary, rt *runtimeAPI) (wall, cpu time.Duration, err error) {
	rt.reset()
	cmd := exec.Command(b.path)
	cmd.Env = b.env
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case at := <-rt.next:
		wall = at.Sub(start)
	case err := <-rt.initError:
		_ = cmd.Process.Kill()
		<-exited
		return 0, 0, fmt.Errorf("init error %s: %s", err, stderr.String())
	case err := <-exited:
		return 0, 0, fmt.Errorf("exited before asking for an invocation (%v): %s", err, stderr.String())
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return 0, 0, errors.New("no next call within 10 s")
	}
	_ = cmd.Process.Kill()
	<-exited
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return wall, cpu, nil
}

// runtimeAPI is the fake Lambda Runtime API: it notes the time of each
// GET .../invocation/next and holds the call open (no invocation comes);
// an init error is reported.
type runtimeAPI struct {
	addr      string
	srv       *http.Server
	next      chan time.Time
	initError chan error
	done      chan struct{}
}

func newRuntimeAPI(addr string) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rt := &runtimeAPI{addr: ln.Addr().String(), next: make(chan time.Time, 1), initError: make(chan error, 1), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		select {
		case rt.next <- at:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-rt.done:
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		select {
		case rt.initError <- errors.New(r.Header.Get("Lambda-Runtime-Function-Error-Type")):
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }()
	return rt, nil
}

// reset forgets a previous run's calls.
func (rt *runtimeAPI) reset() {
	for {
		select {
		case <-rt.next:
		case <-rt.initError:
		default:
			return
		}
	}
}

func (rt *runtimeAPI) close() {
	close(rt.done)
	_ = rt.srv.Close()
}

func median(ds []time.Duration) time.Duration { return pct(ds, 50) }

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
