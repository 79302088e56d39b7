#!/bin/sh
# One-shot, run by the `temporal-setup` service (temporalio/admin-tools) on
# every `docker compose up`: create Countersign's namespace with its retention
# and register Countersign's custom search attributes on it. Idempotent: what
# exists is left alone, except the retention, which is brought in line with
# NAMESPACE_RETENTION. Exits 0 only once workflows can be started with the
# attributes, so web and worker never meet "search attribute not defined".
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required, e.g. temporal:7233}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE is required}"
RETENTION="${NAMESPACE_RETENTION:-90d}"

# Name=Type of every custom search attribute in workflows/search_attributes.py;
# tests/test_compose.py checks this list against the code.
SEARCH_ATTRIBUTES="
CountersignStatus=Keyword
CountersignStage=Keyword
CountersignPendingParties=KeywordList
CountersignNextDue=Datetime
"

retry() { # retry ATTEMPTS WHAT COMMAND...: run COMMAND until it succeeds, 2 s apart
    attempts=$1
    what=$2
    shift 2
    i=1
    until "$@"; do
        if [ "$i" -ge "$attempts" ]; then
            echo "gave up waiting for $what" >&2
            return 1
        fi
        echo "waiting for $what ($i/$attempts)"
        i=$((i + 1))
        sleep 2
    done
}

healthy() {
    temporal operator cluster health >/dev/null 2>&1
}

ensure_namespace() {
    if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
        temporal operator namespace update --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
        echo "namespace $TEMPORAL_NAMESPACE exists; retention set to $RETENTION"
    else
        temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION" \
            --description "Countersign: one workflow per proposal"
        echo "namespace $TEMPORAL_NAMESPACE created with retention $RETENTION"
    fi
}

register() { # register NAME TYPE: succeeds once the attribute exists on the namespace
    if out=$(temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
        --name "$1" --type "$2" 2>&1); then
        echo "search attribute $1 ($2) registered"
        return 0
    fi
    case "$out" in
    *"already exists"* | *"already registered"* | *"AlreadyExists"*)
        echo "search attribute $1 ($2) already registered"
        return 0
        ;;
    esac
    echo "$out" >&2
    return 1
}

usable() { # the frontend accepts a query on every attribute: its caches know them all
    temporal workflow list --namespace "$TEMPORAL_NAMESPACE" --limit 1 --query \
        "CountersignStatus = 'probe' AND CountersignStage = 'probe' AND CountersignPendingParties = 'probe' AND CountersignNextDue > '2000-01-01T00:00:00Z'" \
        >/dev/null 2>&1
}

retry 90 "Temporal at $TEMPORAL_ADDRESS to report SERVING" healthy
# A namespace just created can take up to ~15 s to reach every service: retry.
retry 15 "namespace $TEMPORAL_NAMESPACE" ensure_namespace
for pair in $SEARCH_ATTRIBUTES; do
    retry 30 "search attribute ${pair%%=*}" register "${pair%%=*}" "${pair##*=}"
done
retry 60 "the search attributes to be usable in $TEMPORAL_NAMESPACE" usable
echo "Temporal namespace $TEMPORAL_NAMESPACE is ready for Countersign"
