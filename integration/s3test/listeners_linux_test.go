package s3test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestListenersOnChosenPorts: every TCP port a started server listens on is
// one the harness chose for it (free when chosen), never a fixed default
// that a parallel run or a user's own server may hold.
func TestListenersOnChosenPorts(t *testing.T) {
	servers := Servers()
	if len(servers) == 0 {
		t.Skip("no server started by the harness")
	}
	for _, srv := range servers {
		if srv.proc == nil {
			continue // external
		}
		t.Run(srv.Name, func(t *testing.T) {
			ports, err := listeningPorts(srv.proc.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			if len(ports) == 0 {
				t.Fatal("found no listening socket of the server")
			}
			for _, p := range ports {
				if !slices.Contains(srv.ports, p) {
					t.Errorf("%s listens on port %d, which the harness did not choose (chose %v)", srv.Name, p, srv.ports)
				}
			}
			t.Logf("%s listens on %v", srv.Name, ports)
		})
	}
}

// listeningPorts returns the TCP ports on which the process pid has a
// listening socket, from /proc.
func listeningPorts(pid int) ([]int, error) {
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err == nil && !slices.Contains(ports, int(p)) {
				ports = append(ports, int(p))
			}
		}
		f.Close()
	}
	slices.Sort(ports)
	return ports, nil
}
