-- AlterTable
ALTER TABLE "Client" ADD COLUMN "minAcr" TEXT;

-- AlterTable
ALTER TABLE "SsoSession" ADD COLUMN "passwordAt" DATETIME;
ALTER TABLE "SsoSession" ADD COLUMN "secondFactorAt" DATETIME;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "passwordHash" TEXT NOT NULL,
    "disabledAt" DATETIME,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_User" ("createdAt", "disabledAt", "email", "id", "name", "passwordHash", "updatedAt") SELECT "createdAt", "disabledAt", "email", "id", "name", "passwordHash", "updatedAt" FROM "User";
DROP TABLE "User";
ALTER TABLE "new_User" RENAME TO "User";
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE TABLE "new_LogoutNotification" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "createdAt" DATETIME NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimedBy" TEXT,
    "claimedUntil" DATETIME,
    "lastAttemptAt" DATETIME,
    "lastError" TEXT,
    "deliveredAt" DATETIME,
    "failedAt" DATETIME
);
INSERT INTO "new_LogoutNotification" ("clientId", "createdAt", "id", "reason", "sessionId", "sid", "state", "userId") SELECT "clientId", "createdAt", "id", "reason", "sessionId", "sid", "state", "userId" FROM "LogoutNotification";
DROP TABLE "LogoutNotification";
ALTER TABLE "new_LogoutNotification" RENAME TO "LogoutNotification";
CREATE INDEX "LogoutNotification_state_nextAttemptAt_idx" ON "LogoutNotification"("state", "nextAttemptAt");
CREATE INDEX "LogoutNotification_state_createdAt_idx" ON "LogoutNotification"("state", "createdAt");
CREATE INDEX "LogoutNotification_sessionId_idx" ON "LogoutNotification"("sessionId");
CREATE INDEX "LogoutNotification_clientId_state_idx" ON "LogoutNotification"("clientId", "state");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
