-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "tokenRateLimited" BOOLEAN NOT NULL DEFAULT true;
