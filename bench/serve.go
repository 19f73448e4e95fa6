package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// serveProcess starts `bin serve` on dsn at addr, a server in a process of its own as an
// operator runs it, and waits until it answers /readyz. Its log goes to logPath.
func serveProcess(ctx context.Context, bin, dsn, addr, logPath string) (*httpServer, int, error) {
	base := "http://" + addr
	if err := loopback(base); err != nil {
		return nil, 0, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(bin, "serve", "--db", dsn, "--addr", addr)
	cmd.Env = append(os.Environ(), "GRASSROOTS_ADMIN_PASSWORD=Bench-admin-2026")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); log.Close() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			return nil, 0, fmt.Errorf("%s serve exited before it was ready (%v); its log: %s", bin, err, logPath)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, 0, fmt.Errorf("%s serve not ready after 2 minutes; its log: %s", bin, logPath)
		}
	}
	return &httpServer{url: base, close: stop}, cmd.Process.Pid, nil
}
