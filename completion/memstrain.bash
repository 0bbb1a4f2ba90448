# bash completion for memstrain                                   -*- shell-script -*-
# Installed as /usr/share/bash-completion/completions/memstrain.

_memstrain() {
    local cur prev words cword
    _init_completion || return

    local commands="run validate sweep headroom report compare pprof locate recover version"
    local common="--help --log-format"

    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    local cmd=${words[1]}
    case $prev in
        --log-format)
            COMPREPLY=($(compgen -W "text json" -- "$cur"))
            return
            ;;
        --out | -o | --journal-dir | --textfile-dir | --cgroup-mount | --proc-root | --host-root)
            _filedir -d
            return
            ;;
        --editor)
            COMPREPLY=($(compgen -W "auto libcgroup direct" -- "$cur"))
            return
            ;;
        --cgroup-version)
            COMPREPLY=($(compgen -W "1 2" -- "$cur"))
            return
            ;;
        --unit)
            COMPREPLY=($(compgen -W "auto B" -- "$cur"))
            return
            ;;
        --sample-index)
            COMPREPLY=($(compgen -W "inuse_objects inuse_space alloc_objects alloc_space" -- "$cur"))
            return
            ;;
        --set)
            COMPREPLY=($(compgen -W "GOGC= GOMEMLIMIT= GODEBUG=" -- "$cur"))
            compopt -o nospace
            return
            ;;
        --fail-on)
            COMPREPLY=($(compgen -W "check-regressed verdict p99:+20% latency.p99@ usage.max:+ oom_kills.target:+0" -- "$cur"))
            compopt -o nospace
            return
            ;;
        --metrics-addr)
            COMPREPLY=($(compgen -W "127.0.0.1:9464 :9464" -- "$cur"))
            return
            ;;
        --pid)
            COMPREPLY=($(compgen -W "$(command ls /proc 2>/dev/null | grep -E '^[0-9]+$')" -- "$cur"))
            return
            ;;
        --metrics-linger | --repeat | --cgroup-parent | --container-id | --pod-uid | --container | --cgroup-root | -n | --count)
            return
            ;;
    esac

    local opts
    case $cmd in
        run) opts="--out --dry-run --json --verbose --quiet --metrics-addr --metrics-linger --cgroup-parent --cgroup-mount
                   --cgroup-version --editor --force --journal-dir --textfile-dir" ;;
        validate) opts="--json" ;;
        sweep) opts="--set --repeat --out --dry-run --cgroup-parent" ;;
        headroom) opts="--vary --from --to --resolution --repeat --max-runs --rechecks --margin --out --dry-run --cgroup-parent" ;;
        report) opts="--out" ;;
        compare) opts="--json --markdown --fail-on" ;;
        pprof)
            if ((cword == 2)); then
                COMPREPLY=($(compgen -W "top diff --help" -- "$cur"))
                return
            fi
            opts="--sample-index --count --json --unit"
            ;;
        locate) opts="--pid --container-id --pod-uid --container --json --cgroup-mount --cgroup-version --cgroup-root
                      --proc-root --host-root" ;;
        recover) opts="--dry-run --journal-dir" ;;
        *) return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts $common" -- "$cur"))
        return
    fi
    case $cmd in
        run | validate | sweep | headroom) _filedir json ;;
        report | compare) _filedir json ;;
        pprof) _filedir '@(gz|pb|pprof)' ;;
    esac
}
complete -F _memstrain memstrain

# ex: filetype=sh
