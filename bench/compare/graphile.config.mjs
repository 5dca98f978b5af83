// PostGraphile 5 with the Amber preset over notifyql's database, for `make bench-compare`
// only. The benchmark program starts it with DATABASE_URL and PORT set and checks that it
// returns the same rows as notifyql before timing either.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { addPgTableCondition } from "postgraphile/utils";

// The notifications list that notifyql shows leaves out test-key messages and cancelled
// ones (DOMAIN.md §2.3); Amber's conditions test columns for equality only, so this
// condition says the same in SQL. Without it the two servers would list different rows.
const listedCondition = addPgTableCondition(
  { schemaName: "public", tableName: "notifications" },
  "listed",
  (build) => ({
    type: build.graphql.GraphQLBoolean,
    description: "Only what the notifications page lists: no test keys, nothing cancelled.",
  }),
  (value, { sql, sqlTableAlias }) => {
    if (value !== true) return null;
    return sql`(${sqlTableAlias}.key_type <> 'test' and ${sqlTableAlias}.notification_status <> 'cancelled')`;
  },
);

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [listedCondition],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PORT),
    graphiql: false,
  },
  grafast: { explain: false },
};

export default preset;
