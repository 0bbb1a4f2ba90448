package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Fields read from /proc/self/status and /proc/self/smaps_rollup, mapped to
// the JSON keys reported by /stats and /debug/free (values in bytes).
var (
	statusFields = map[string]string{
		"VmRSS":    "vm_rss_bytes",
		"VmHWM":    "vm_hwm_bytes",
		"VmSize":   "vm_size_bytes",
		"RssAnon":  "rss_anon_bytes",
		"RssFile":  "rss_file_bytes",
		"RssShmem": "rss_shmem_bytes",
		"VmSwap":   "vm_swap_bytes",
	}
	smapsFields = map[string]string{
		"Pss":           "pss_bytes",
		"Anonymous":     "anonymous_bytes",
		"LazyFree":      "lazyfree_bytes",
		"AnonHugePages": "anon_huge_pages_bytes",
		"Private_Dirty": "private_dirty_bytes",
		"Swap":          "swap_bytes",
	}
)

// readKB parses "Key:   123 kB" lines of a /proc file, keeping the keys in
// fields and storing them (converted to bytes) into out.
func readKB(path string, fields map[string]string, out map[string]int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, ok := fields[line[:colon]]
		if !ok {
			continue
		}
		parts := strings.Fields(line[colon+1:])
		if len(parts) == 0 {
			continue
		}
		v, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			continue
		}
		if len(parts) > 1 && parts[1] == "kB" {
			v *= 1024
		}
		out[key] = v
	}
}

// procMemory returns the process's memory figures from /proc (Linux only);
// on other systems, or if /proc is unreadable, the map is empty.
func procMemory() map[string]int64 {
	out := make(map[string]int64, len(statusFields)+len(smapsFields))
	readKB("/proc/self/status", statusFields, out)
	readKB("/proc/self/smaps_rollup", smapsFields, out)
	return out
}
