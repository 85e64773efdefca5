-- CreateTable
CREATE TABLE "SsoSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "idleExpiresAt" DATETIME NOT NULL,
    "absoluteExpiresAt" DATETIME NOT NULL,
    "ipCreated" TEXT,
    "ipLastSeen" TEXT,
    "userAgent" TEXT,
    "deviceLabel" TEXT NOT NULL,
    "amr" TEXT NOT NULL,
    "acr" TEXT,
    "authTime" DATETIME,
    "remember" BOOLEAN NOT NULL,
    "endedAt" DATETIME,
    "endReason" TEXT
);

-- CreateTable
CREATE TABLE "SsoSessionClient" (
    "sessionId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "grantId" TEXT,
    "firstSeenAt" DATETIME NOT NULL,

    PRIMARY KEY ("sessionId", "clientId"),
    CONSTRAINT "SsoSessionClient_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "SsoSession" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "LogoutNotification" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL,
    "type" TEXT NOT NULL,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "userId" TEXT,
    "sessionId" TEXT,
    "clientId" TEXT,
    "ip" TEXT,
    "userAgent" TEXT,
    "details" TEXT
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Client" (
    "clientId" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "secretEncrypted" TEXT,
    "firstParty" BOOLEAN NOT NULL DEFAULT false,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "metadata" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Client" ("clientId", "createdAt", "firstParty", "metadata", "name", "secretEncrypted", "updatedAt") SELECT "clientId", "createdAt", "firstParty", "metadata", "name", "secretEncrypted", "updatedAt" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "SsoSession_userId_endedAt_idx" ON "SsoSession"("userId", "endedAt");

-- CreateIndex
CREATE INDEX "SsoSession_endedAt_idleExpiresAt_idx" ON "SsoSession"("endedAt", "idleExpiresAt");

-- CreateIndex
CREATE INDEX "SsoSession_endedAt_absoluteExpiresAt_idx" ON "SsoSession"("endedAt", "absoluteExpiresAt");

-- CreateIndex
CREATE INDEX "SsoSessionClient_grantId_idx" ON "SsoSessionClient"("grantId");

-- CreateIndex
CREATE INDEX "LogoutNotification_state_createdAt_idx" ON "LogoutNotification"("state", "createdAt");

-- CreateIndex
CREATE INDEX "LogoutNotification_sessionId_idx" ON "LogoutNotification"("sessionId");

-- CreateIndex
CREATE INDEX "AuditEvent_userId_at_idx" ON "AuditEvent"("userId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- CreateIndex
CREATE INDEX "AuditEvent_sessionId_idx" ON "AuditEvent"("sessionId");
