# PostgreSQL for the fleet store (issue 19, src/relay/store/objects-postgres.ts): Debian's server,
# its default cluster listening on 127.0.0.1 only, and a role that may create databases — each
# test file creates its own database (test/helpers/postgres.ts) and drops it afterwards.
# Sourced by .ci/run; idempotent.
pg_t0=$(date +%s)
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends postgresql >/dev/null
pg_ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$pg_ver main"; then pg_createcluster "$pg_ver" main >/dev/null; fi
# (pg_conftool writes a dotted address unquoted, which PostgreSQL refuses: a conf.d file instead,
# and no listen_addresses left in the main file)
pg_conftool "$pg_ver" main remove listen_addresses >/dev/null 2>&1 || true
mkdir -p "/etc/postgresql/$pg_ver/main/conf.d"
echo "listen_addresses = '127.0.0.1'" >"/etc/postgresql/$pg_ver/main/conf.d/edgecore.conf"
pg_ctlcluster "$pg_ver" main start >/dev/null 2>&1 || pg_ctlcluster "$pg_ver" main status >/dev/null
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edgecore_test') THEN
    CREATE ROLE edgecore_test LOGIN CREATEDB PASSWORD 'edgecore-test';
  END IF;
END $$;
SQL
pg_port=$(pg_conftool -s "$pg_ver" main show port)
export EDGECORE_TEST_PG="postgres://edgecore_test:edgecore-test@127.0.0.1:$pg_port/postgres"
echo "postgres $pg_ver ready in $(( $(date +%s) - pg_t0 ))s (EDGECORE_TEST_PG=$EDGECORE_TEST_PG)"
