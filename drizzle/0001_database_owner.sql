-- An address registered by several identities keeps its earliest registration.
DELETE FROM "identity_databases" "d" USING "identity_databases" "e" WHERE "d"."address" = "e"."address" AND ("e"."created_at", "e"."user_id") < ("d"."created_at", "d"."user_id");--> statement-breakpoint
ALTER TABLE "identity_databases" DROP CONSTRAINT "identity_databases_user_id_address_pk";--> statement-breakpoint
ALTER TABLE "identity_databases" ADD PRIMARY KEY ("address");--> statement-breakpoint
CREATE INDEX "identity_databases_user_id_idx" ON "identity_databases" USING btree ("user_id","created_at");