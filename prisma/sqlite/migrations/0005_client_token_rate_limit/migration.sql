-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Client" (
    "clientId" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "secretEncrypted" TEXT,
    "firstParty" BOOLEAN NOT NULL DEFAULT false,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "minAcr" TEXT,
    "metadata" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "tokenRateLimited" BOOLEAN NOT NULL DEFAULT true
);
INSERT INTO "new_Client" ("admin", "clientId", "createdAt", "firstParty", "metadata", "minAcr", "name", "secretEncrypted", "updatedAt") SELECT "admin", "clientId", "createdAt", "firstParty", "metadata", "minAcr", "name", "secretEncrypted", "updatedAt" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
